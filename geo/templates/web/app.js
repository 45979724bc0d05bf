/* ess-qpv web page: follows a run, sorts tables, copies the embed code. Plain script. */
(function () {
  "use strict";

  function follow(box) {
    var url = box.dataset.url, last = null;
    function text(id, value) {
      var el = document.getElementById(id);
      if (el) { el.textContent = value; }
    }
    function show(state) {
      var running = state.etat === "en_cours";
      var label = state.libelle + (running ? " – " + state.etape_libelle : "");
      if (label !== last) {  // the live region speaks only when the step changes
        text("etat-libelle", state.libelle);
        text("etat-etape", running ? " – " + state.etape_libelle : "");
        last = label;
      }
      text("n-a-envoyer", state.a_envoyer || 0);
      text("n-envoyees", state.envoyees || 0);
      text("n-cache", state.cache || 0);
      text("n-requetes", state.requetes || 0);
      text("n-ecrits", (state.ecrits || 0) + " sur " + (state.a_ecrire || 0));
      text("n-duree", state.duree || 0);
      // the bar follows the geocoding, then the writing (files, fiches' pages); full at
      // the end of the run
      var bar = document.getElementById("barre");
      var writing = state.etape === "ecriture" && state.a_ecrire;
      bar.max = (writing ? state.a_ecrire : state.a_envoyer) || 1;
      bar.value = state.etat === "termine" ? bar.max
        : (writing ? state.ecrits : state.envoyees) || 0;
      bar.textContent = String(bar.value);
      bar.setAttribute("aria-label", writing ? "Écriture des résultats" : "Géocodage");
      var message = document.getElementById("etat-message");
      message.textContent = state.message || "";
      message.className = state.etat === "erreur" ? "message erreur" : "";
      document.getElementById("annuler").hidden = !running;
      document.getElementById("relancer").hidden = running;
      document.getElementById("suite").hidden = state.etat !== "termine";
      return running;
    }
    function poll() {
      fetch(url, {headers: {"Accept": "application/json"}, cache: "no-store"})
        .then(function (r) { return r.json(); })
        .then(function (state) { if (show(state)) { setTimeout(poll, 700); } })
        .catch(function () { setTimeout(poll, 2000); });
    }
    poll();
  }

  function sortable(table) {
    var buttons = table.querySelectorAll("thead button.tri");
    Array.prototype.forEach.call(buttons, function (button, column) {
      button.addEventListener("click", function () {
        var th = button.parentNode;
        var ascending = th.getAttribute("aria-sort") !== "ascending";
        Array.prototype.forEach.call(table.querySelectorAll("thead th"), function (h) {
          h.removeAttribute("aria-sort");
        });
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        function key(row) {
          var t = row.cells[column] ? row.cells[column].textContent.trim() : "";
          var n = Number(t.replace(",", "."));
          return t !== "" && !isNaN(n) ? n : t.toLocaleLowerCase("fr");
        }
        rows.sort(function (a, b) {
          var x = key(a), y = key(b), r;
          if (typeof x === typeof y) { r = x < y ? -1 : x > y ? 1 : 0; }
          else { r = typeof x === "number" ? -1 : 1; }
          return ascending ? r : -r;
        });
        rows.forEach(function (row) { body.appendChild(row); });
      });
    });
  }

  function copier(button) {
    button.addEventListener("click", function () {
      var field = document.getElementById(button.dataset.cible);
      var done = document.getElementById("copie");
      field.select();
      var ok = function () { done.textContent = "Code copié."; };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(field.value).then(ok, function () {
          done.textContent = "Copie impossible : sélectionnez le texte et copiez-le.";
        });
      } else {
        try { document.execCommand("copy"); ok(); } catch (e) {
          done.textContent = "Copie impossible : sélectionnez le texte et copiez-le.";
        }
      }
    });
  }

  var box = document.getElementById("etat");
  if (box) { follow(box); }
  Array.prototype.forEach.call(document.querySelectorAll("table.triable"), sortable);
  var button = document.getElementById("copier");
  if (button) { copier(button); }
})();
