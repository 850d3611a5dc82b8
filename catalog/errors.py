"""Every error a user can meet in the domain library, each a named class.

Each class has a stable `code` (for scripts and logs) and an English message id marked for
translation; `params` fill the message's `%(name)s` placeholders. The web app and the
command line translate `message` into the user's language.
"""

from __future__ import annotations

from catalog.i18n import N_


class CatalogError(Exception):
    """Base of every domain error: a code, a translatable message and its parameters."""

    code = "error"
    message = N_("Something went wrong.")

    def __init__(self, **params: object) -> None:
        self.params = params
        super().__init__(self.render())

    def render(self, gettext=None) -> str:
        """The message in the language of *gettext* (English when none is given).

        String parameters are translated too, so a detail marked with `N_` reads in the
        same language as the sentence around it.
        """
        translate = gettext or (lambda message: message)
        params = {name: translate(value) if isinstance(value, str) else value for name, value in self.params.items()}
        try:
            return translate(self.message) % params
        except (KeyError, ValueError, TypeError):
            return translate(self.message)


class RecordNotFound(CatalogError):
    code = "record-not-found"
    message = N_("There is no record with number %(record_id)s.")


# --- refusals at import: the file is not catalogued and nothing is written ---------------


class RefusedFile(CatalogError):
    """A file that ingest refuses; nothing is written for it."""

    code = "refused"
    message = N_("The file was refused.")


class EmptyFile(RefusedFile):
    code = "empty-file"
    message = N_("The file is empty (0 bytes).")


class FileTooLarge(RefusedFile):
    code = "file-too-large"
    message = N_("The file is too large: %(size_mb)s MB, the limit is %(limit_mb)s MB.")


class UnsupportedFormat(RefusedFile):
    code = "unsupported-format"
    message = N_("This is not an EPUB or PDF file (its contents look like %(detected)s).")


class DisguisedFile(RefusedFile):
    code = "disguised-file"
    message = N_("The file is named .%(extension)s but its contents are %(detected)s, not %(expected)s.")


class CorruptEbook(RefusedFile):
    code = "corrupt"
    message = N_("The file is damaged and cannot be read: %(detail)s.")


class PasswordProtected(RefusedFile):
    code = "password-protected"
    message = N_("The PDF is protected by a password and cannot be opened without it.")


class UnsafeArchive(RefusedFile):
    code = "unsafe-archive"
    message = N_("The EPUB archive is unsafe: %(detail)s.")


class UnsafeXml(RefusedFile):
    code = "unsafe-xml"
    message = N_("The EPUB contains XML entity declarations in %(part)s, which are refused for safety.")


class ExtractionTimeout(RefusedFile):
    code = "timeout"
    message = N_("Reading the file took longer than %(seconds)s seconds and was stopped.")


class ExtractionFailed(RefusedFile):
    code = "extraction-failed"
    message = N_("Reading the file failed unexpectedly (%(detail)s).")


class StorageFull(RefusedFile):
    code = "disk-full"
    message = N_("The disk is full; the file was not stored. Free some space and import it again.")


class UnreadableSource(RefusedFile):
    code = "unreadable"
    message = N_("The file cannot be read from disk: %(detail)s.")
