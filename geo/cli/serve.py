"""``ess-qpv serve``: the web page on a folder of studies."""

from __future__ import annotations

import argparse
import os
import signal
import threading
import webbrowser
from pathlib import Path

from .._errors import EssQpvError
from ._console import say

PASSWORD_ENV = "ESS_QPV_MOT_DE_PASSE"
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def register(commands: argparse._SubParsersAction) -> None:
    serve = commands.add_parser(
        "serve", help="ouvrir la page web des études (sans terminal ensuite)",
        description="Démarre un serveur web local sur le dossier des études et ouvre le "
                    "navigateur : créer une étude, importer le tableau, lancer l'analyse, "
                    "relire les adresses douteuses, voir la carte et télécharger le rapport.")
    serve.add_argument("folder", metavar="DOSSIER", nargs="?", default="etudes",
                       help="dossier des études (défaut : ./etudes/)")
    serve.add_argument("--port", metavar="PORT",
                       type=_port, default=8000, help="port (défaut : 8000)")
    serve.add_argument("--host", metavar="ADRESSE", default="127.0.0.1",
                       help="adresse d'écoute (défaut : 127.0.0.1, cet ordinateur seulement ; "
                            "toute autre adresse exige un mot de passe)")
    serve.add_argument("--no-browser", "--sans-navigateur", dest="no_browser",
                       action="store_true", help="ne pas ouvrir le navigateur")
    serve.add_argument("--mot-de-passe", metavar="MOT_DE_PASSE", dest="password", default=None,
                       help=f"mot de passe de la page (ou variable {PASSWORD_ENV}, préférable : "
                            "une option se voit dans la liste des processus)")
    serve.add_argument("--taille-max", metavar="MO", dest="max_mb", type=_positive, default=20.0,
                       help="taille maximale d'un tableau importé, en Mo (défaut : 20)")
    serve.add_argument("--lignes-max", metavar="LIGNES",
                       dest="max_rows", type=_positive_int, default=100_000,
                       help="nombre maximal de lignes d'un tableau (défaut : 100 000)")
    serve.set_defaults(run=run_serve)


def _port(text: str) -> int:
    """A port number; 0 lets the system choose a free one."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"« {text} » : un port de 0 à 65535 est attendu "
                                         "(0 : un port libre)")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"« {text} » : un nombre entier positif est attendu")
    return value


def _positive(text: str) -> float:
    import math

    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"« {text} » : un nombre positif est attendu")
    return value


def _listen_address(host: str) -> str:
    """``host`` if this machine can listen on it (a name or an IP address)."""
    import ipaddress
    import socket

    try:
        ipaddress.ip_address(host)
        return host
    except ValueError:
        pass
    try:
        socket.getaddrinfo(host, None)
    except (OSError, UnicodeError):
        raise EssQpvError(f"adresse d'écoute « {host} » inconnue ; gardez --host 127.0.0.1, "
                          "ou donnez une adresse IP de cet ordinateur.") from None
    return host


def run_serve(args: argparse.Namespace) -> int:
    from ..web import create_app, jobs
    from ..web.security import (
        CONFIG_ENV,
        FolderLock,
        Keys,
        check_password,
        config_inside,
        create_server,
    )
    from ..web.workspace import Limits

    password = args.password or os.environ.get(PASSWORD_ENV) or None
    host = _listen_address(args.host)
    local = host in LOOPBACK
    if not local and not password:
        raise EssQpvError(f"écouter sur {host} ouvre les études à tout le réseau : "
                          f"donnez un mot de passe (--mot-de-passe ou variable "
                          f"{PASSWORD_ENV}), ou gardez --host 127.0.0.1.")
    if password:
        check_password(password)
    root = Path(args.folder).resolve()
    if root.exists() and not root.is_dir():
        raise EssQpvError(f"{args.folder} est un fichier : indiquez le dossier des études "
                          "(il est créé s'il n'existe pas).")
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EssQpvError(f"impossible de créer le dossier des études {root} "
                          f"({exc.strerror or exc}).") from exc
    limits = Limits(max_bytes=int(args.max_mb * 1e6), max_rows=args.max_rows)
    inside = config_inside(root)
    if inside is not None:
        say(f"Attention : le dossier de configuration {inside} ({CONFIG_ENV}) est dans le "
            "dossier des études ; la clé qui signe les sessions voyagera avec toute copie du "
            f"dossier. Choisissez avec {CONFIG_ENV} un dossier hors de {root}.")
    with FolderLock(root):
        keys = Keys(root)
        app = create_app(root, password=password, limits=limits, local=local, keys=keys)
        try:
            server = create_server(app, host=host, port=args.port, threads=8,
                                   max_request_body_size=4 * limits.max_bytes + (1 << 20),
                                   ident="ess-qpv")
        except (OSError, ValueError, OverflowError) as exc:
            reason = getattr(exc, "strerror", None) or exc
            raise EssQpvError(f"impossible d'écouter sur {host}:{args.port} ({reason}) ; "
                              "choisissez un autre --port ou une autre --host.") from exc
        for folder in jobs.resume(root, keys.job_mark):
            say(f"Analyse reprise : {folder.name}")
        return _serve(server, args, host, local, root, password)


def _serve(server, args: argparse.Namespace, host: str, local: bool, root: Path,
           password: str | None) -> int:
    from ..web import jobs

    # "localhost" may listen on both 127.0.0.1 and ::1 (with --port 0, on two ports)
    port = getattr(server, "effective_port", None) or next(
        (p for h, p in server.effective_listen if ":" not in h), server.effective_listen[0][1])
    shown = "127.0.0.1" if local else host
    url = f"http://{shown}:{port}/"
    say(f"Études : {root}")
    say(f"Page web : {url}" + (" (protégée par mot de passe)" if password else ""))
    if not local:
        say("Attention : la page est ouverte au réseau ; sans HTTPS, le mot de passe y circule "
            "en clair.")
    say("Arrêt : Ctrl+C (une analyse en cours s'interrompt et reprend au prochain "
        "lancement).")
    if not args.no_browser:
        threading.Timer(0.5, webbrowser.open, args=(url,)).start()
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        server.run()
    except KeyboardInterrupt:
        say("Serveur arrêté.")
    finally:
        server.close()
        jobs.suspend()
    return 0


def _interrupt(*_) -> None:
    """A service manager's stop (SIGTERM) ends the server as Ctrl+C does."""
    raise KeyboardInterrupt
