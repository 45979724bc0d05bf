"""Errors whose message is meant for the user (French, one line, no traceback)."""

from __future__ import annotations


class EssQpvError(Exception):
    """A problem the user can fix: bad input, missing file, unreachable service.

    The message is French and complete; the CLI prints it on one line and exits non-zero.
    ``parameters`` names the parameters the user can change to fix it (``"lon"``,
    ``"distance"``…): the command line adds its options, the study file its keys.
    """

    def __init__(self, message: str, *, parameters: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.parameters = tuple(parameters)


class InputError(EssQpvError):
    """Bad user input, located by file, row and column where they are known."""

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        row: int | None = None,
        column: str | None = None,
        parameters: tuple[str, ...] = (),
    ) -> None:
        where = []
        if path is not None:
            where.append(f"fichier {path}")
        if row is not None:
            where.append(f"ligne {row}")
        if column is not None:
            where.append(f"colonne « {column} »")
        self.path, self.row, self.column = path, row, column
        super().__init__(f"{', '.join(where)} : {message}" if where else message,
                         parameters=parameters)


class DownloadError(EssQpvError):
    """A download failed or returned something that is not the expected file."""


class OfflineError(DownloadError):
    """The service could not be reached at all (connection refused, DNS, timeout)."""


#: What every door (command line, study file, web page) says of a file that is no table.
NOT_A_TABLE = ("fichier binaire non reconnu : ni classeur (.xlsx, .ods), ni CSV, ni GeoJSON, "
               "ni GeoPackage (un fichier renommé ?).")
#: … of an empty file.
EMPTY_FILE = "le fichier est vide."
#: … of a table with a header and no row under it.
NO_ROWS = "le tableau n'a aucune ligne de données, seulement l'en-tête."
