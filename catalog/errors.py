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


class IndexNotUpdated(CatalogError):
    """Not a refusal: the books were stored, but the search index could not take them in."""

    code = "index-disk-full"
    message = N_(
        "The books were stored, but the disk filled up while the search index was being updated, so search does"
        " not find them yet. Free some space: the next import or the next start of the server brings the index"
        " up to date (or run: ebookserver reindex)."
    )


class UnreadableSource(RefusedFile):
    code = "unreadable"
    message = N_("The file cannot be read from disk: %(detail)s.")


# --- staff accounts and sign-in --------------------------------------------------------


class AccountError(CatalogError):
    code = "account"
    message = N_("The account could not be changed.")


class WeakPassword(AccountError):
    code = "weak-password"
    message = N_("The password must have at least %(minimum)s characters and must not be a common password.")


class UsernameTaken(AccountError):
    code = "username-taken"
    message = N_("There is already an account named %(username)s.")


class InvalidUsername(AccountError):
    code = "invalid-username"
    message = N_("A user name has 3 to 32 letters, digits, dots, dashes or underscores.")


class LoginRefused(CatalogError):
    code = "login-refused"
    message = N_("The user name or password is wrong.")


class AccountLocked(LoginRefused):
    code = "account-locked"
    message = N_("Too many wrong passwords. This account is locked for %(minutes)s minutes.")


class TooManyAttempts(LoginRefused):
    code = "too-many-attempts"
    message = N_("Too many failed sign-ins from this computer. Wait %(minutes)s minutes and try again.")


class SetupAlreadyDone(AccountError):
    code = "setup-done"
    message = N_("This library has already been set up.")


# --- members: registering, editing, PINs --------------------------------------------------


class MemberNotFound(CatalogError):
    code = "member-not-found"
    message = N_("There is no member with number %(number)s.")


class MemberNumberMistyped(MemberNotFound):
    """A number in the generated scheme whose check digit is wrong: a typing mistake."""

    code = "member-number-mistyped"
    message = N_("The member number %(number)s is mistyped: its check digit is wrong.")


class InvalidMemberNumber(CatalogError):
    code = "invalid-member-number"
    message = N_(
        "%(number)s cannot be a member number: use 1 to 32 letters, digits, dots, slashes, hyphens or underscores."
    )


class DuplicateMemberNumber(CatalogError):
    code = "duplicate-member-number"
    message = N_("The member number %(number)s is already in use.")


class InvalidMemberName(CatalogError):
    code = "invalid-member-name"
    message = N_("A member needs a name of at most %(limit)s characters.")


class InvalidBirthYear(CatalogError):
    code = "invalid-birth-year"
    message = N_("The year of birth %(year)s is not possible: give a year from %(earliest)s to %(latest)s.")


class InvalidGender(CatalogError):
    code = "invalid-gender"
    message = N_("Gender is L (laki-laki), P (perempuan) or left empty, not %(gender)s.")


class InvalidPhone(CatalogError):
    code = "invalid-phone"
    message = N_("The phone number %(phone)s is not valid: use digits, spaces, +, - and brackets only.")


class InvalidAddress(CatalogError):
    code = "invalid-address"
    message = N_("The address is too long: at most %(limit)s characters.")


class UnknownMemberCategory(CatalogError):
    code = "unknown-member-category"
    message = N_("There is no member category %(category)s.")


class InvalidPin(CatalogError):
    code = "invalid-pin"
    message = N_("A PIN is 4 to 8 digits.")


class WrongPin(CatalogError):
    """A failed sign-in; it does not say whether the number or the PIN was wrong."""

    code = "wrong-pin"
    message = N_("The member number or the PIN is wrong.")


class MemberLocked(CatalogError):
    code = "member-locked"
    message = N_("Too many wrong PINs: signing in is locked; try again in %(minutes)s min.")


# --- print circulation: refusals at the desk; nothing is written ----------------------------


class ItemNotFound(CatalogError):
    code = "item-not-found"
    message = N_("There is no copy with barcode %(barcode)s.")


class MemberBlocked(CatalogError):
    code = "member-blocked"
    message = N_("Member %(number)s is blocked and cannot borrow.")


class CopyNotAvailable(CatalogError):
    """The copy cannot be lent; each subclass says why."""

    code = "copy-not-available"
    message = N_("The copy %(barcode)s cannot be lent.")


class CopyOnLoan(CopyNotAvailable):
    code = "copy-on-loan"
    message = N_("The copy %(barcode)s is already on loan.")


class CopyForReference(CopyNotAvailable):
    code = "copy-reference"
    message = N_("The copy %(barcode)s is for reference in the library only.")


class CopyLost(CopyNotAvailable):
    code = "copy-lost"
    message = N_("The copy %(barcode)s is marked as lost.")


class CopyInRepair(CopyNotAvailable):
    code = "copy-in-repair"
    message = N_("The copy %(barcode)s is in repair.")


class CopyWithdrawn(CopyNotAvailable):
    code = "copy-withdrawn"
    message = N_("The copy %(barcode)s has been withdrawn from the collection.")


class LoanLimitReached(CatalogError):
    code = "loan-limit-reached"
    message = N_("Member %(number)s has reached the loan limit of their category (%(limit)s).")


class MemberHasOverdueLoans(CatalogError):
    code = "member-has-overdue-loans"
    message = N_("Member %(number)s has overdue loans (%(count)s); they must be returned first.")


class CopyNotOnLoan(CatalogError):
    code = "copy-not-on-loan"
    message = N_("The copy %(barcode)s is not on loan.")


class RenewalLimitReached(CatalogError):
    code = "renewal-limit-reached"
    message = N_("This loan has reached the renewal limit of the member's category (%(limit)s).")


class RenewalOverdue(CatalogError):
    code = "renewal-overdue"
    message = N_("This loan is overdue (days late: %(days)s) and cannot be renewed; return the copy first.")


class NotAnImage(CatalogError):
    code = "not-an-image"
    message = N_("This is not a picture that can be used (JPEG, PNG or GIF, at most 15 MB).")


# --- e-lending: refusals to a patron; nothing is written ---------------------------------------


class LendingError(CatalogError):
    code = "lending"
    message = N_("This e-book cannot be borrowed now.")


class NotLendable(LendingError):
    code = "not-lendable"
    message = N_("This e-book is not lent: it can be read without borrowing it.")


class EbookLoanLimitReached(LendingError):
    code = "ebook-loan-limit-reached"
    message = N_("You already have %(limit)s e-books on loan, the most your category allows. Return one first.")


class AlreadyOnLoan(LendingError):
    code = "already-on-loan"
    message = N_("You have already borrowed this e-book.")


class AlreadyInQueue(LendingError):
    code = "already-in-queue"
    message = N_("You are already in the queue for this e-book.")


class LoanNotFound(LendingError):
    code = "loan-not-found"
    message = N_("You do not have this e-book on loan.")


class LoanExpired(LoanNotFound):
    code = "loan-expired"
    message = N_("Your loan of this e-book has ended.")


class HoldNotFound(LendingError):
    code = "hold-not-found"
    message = N_("You are not in the queue for this e-book.")


class RenewalWanted(LendingError):
    code = "renewal-wanted"
    message = N_("Someone is waiting for this e-book, so the loan cannot be renewed.")


class InvalidLicenceChoice(LendingError):
    code = "invalid-licence-choice"
    message = N_("A licence needs from 1 to 1000 copies and from 1 to 365 loan days.")
