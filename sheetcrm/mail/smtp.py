"""SMTP delivery and its settings.

One connection per run, opened on the first message. Each message's fate is one of five
outcomes, and the outbox acts on them:

    sent       the server answered 250 to the end of DATA
    transient  4xx, or the message was never handed over (server down, refused, timed out
               before DATA): safe to retry later
    permanent  5xx to MAIL, RCPT or DATA: the server's reply is the reason, retrying will not help;
               or a message that cannot be put on the wire at all
    setup      the session could not be set up because of a setting, not the message: no
               STARTTLS, a TLS handshake that fails (wrong port or security), the login
               refused (535), 5xx to the greeting or EHLO, or 530 to MAIL FROM or RCPT TO
               (RFC 4954 "authentication required", or "must issue a STARTTLS command
               first"). The reply names the setting to change; retrying will not help until a
               person changes it
    unknown    the connection broke after the body was handed over and before the server's
               answer, or the answer is not a reply code: it may have been accepted, so it is
               never retried automatically

`send` never raises: whatever goes wrong is one of these, and only a failure after the body
may have left is `unknown` (a 421 to DATA, with the connection closed, is transient: nothing
was handed over).

A refused or timed-out connection stays transient: a server being restarted looks the same as
a wrong port, so it is retried with backoff, and after `max_attempts` tries the row fails with
a reply that names [smtp] host and port.

The password is a SecretStr from the config or $SHEETCRM_SMTP_PASSWORD, only unwrapped for
LOGIN, and scrubbed from every reply text this module returns.
"""

from __future__ import annotations

import os
import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from typing import Literal, Mapping

from pydantic import ConfigDict, Field, SecretStr, ValidationError, model_validator

from sheetcrm.cells import quoted
from sheetcrm.i18n import N_, _
from sheetcrm.mail.message import HeaderError, check_mailbox, envelope
from sheetcrm.os_errors import os_problem
from sheetcrm.settings import DAY, MINUTE, ConfigError, KeyedProblem, Section, problem, seconds


class SmtpSettings(Section):
    """Where quotes are sent from. Each key can also come from $SHEETCRM_SMTP_<KEY>, which wins."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    host: str | None = None
    port: int = Field(default=0, ge=0, le=65535)  # 0: the usual port for `security`
    user: str | None = None
    password: SecretStr | None = None  # SecretStr: a repr or an error message never shows it
    from_: str | None = Field(default=None, alias="from")
    security: Literal["ssl", "starttls", "none"] = "starttls"
    timeout: float = seconds(30, 10 * MINUTE)
    # Transient failures (4xx, server unreachable) are retried this many times in all, waiting
    # retry_seconds, then twice that, and so on up to max_retry_seconds.
    max_attempts: int = Field(default=8, ge=1, le=100)
    retry_seconds: float = seconds(60, DAY)
    max_retry_seconds: float = seconds(3600, 7 * DAY)

    @model_validator(mode="after")
    def _ordered(self) -> "SmtpSettings":
        if self.max_retry_seconds < self.retry_seconds:
            raise KeyedProblem("max_retry_seconds", _("must be at least retry_seconds"))
        return self


DEFAULT_PORTS = {"ssl": 465, "starttls": 587, "none": 25}
ENV_PREFIX = "SHEETCRM_SMTP_"
ENV_KEYS = ("host", "port", "user", "password", "from", "security", "timeout")


def smtp_settings(section: SmtpSettings, environ: Mapping[str, str] = os.environ) -> SmtpSettings:
    """The config's [smtp] section (`config.smtp`) with $SHEETCRM_SMTP_* on top; ConfigError
    when the result has no host or no sender."""
    data = section.model_dump(by_alias=True, exclude_none=True)
    data.update({k: environ[ENV_PREFIX + k.upper()] for k in ENV_KEYS if environ.get(ENV_PREFIX + k.upper())})
    try:
        settings = SmtpSettings.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        key = "smtp." + ".".join(map(str, err["loc"]))
        raise ConfigError(_("{key}: {problem} (from [smtp] or ${env}*)", key=key, problem=problem(err),
                            env=ENV_PREFIX)) from None
    if not settings.host:
        raise ConfigError(_("no SMTP server: set [smtp] host in the config or ${env}HOST", env=ENV_PREFIX))
    if not settings.from_:
        raise ConfigError(_("no sender: set [smtp] from in the config or ${env}FROM", env=ENV_PREFIX))
    if not _host_name(settings.host):
        # Said here, once: smtplib raised UnicodeError mid-send ("a..b", a label past 63
        # characters), and the quote was left at Sending, never retried.
        raise ConfigError(_("smtp.host: {host} is not a host name (from [smtp] or ${env}HOST)",
                            host=quoted(settings.host), env=ENV_PREFIX))
    password = settings.password.get_secret_value() if settings.password else ""
    for key, value in (("user", settings.user or ""), ("password", password)):
        if not value.isascii():
            # smtplib's login sends ASCII only: it raised mid-send, leaving the quote at Sending
            # and the Error cell naming the password's first such character. Never quoted.
            raise ConfigError(_("smtp.{key}: has a character outside ASCII (such as an accented letter or €), "
                                "which the SMTP login cannot send (from [smtp] or ${env}{name})",
                                key=key, env=ENV_PREFIX, name=key.upper()))
    try:
        # One address, checked as every message's From is: a mistyped sender is the config's
        # fault, said once here, not a Failed row per quote. Kept in its ASCII form, which
        # also gives the Message-IDs their domain.
        sender = check_mailbox("From", settings.from_)
    except HeaderError as e:
        raise ConfigError(_("smtp.from: {problem} (from [smtp] or ${env}FROM)", problem=e, env=ENV_PREFIX)) from None
    return settings.model_copy(update={"from_": str(sender)})


def _host_name(host: str) -> bool:
    """Whether `host` is a name or address a connection can be opened to (its IDNA form, no
    spaces or control characters); whether it resolves is the connection's to say."""
    if not host or any(c.isspace() or not c.isprintable() for c in host):
        return False
    try:
        host.encode("idna")
    except UnicodeError:
        return False
    return True


# "stopped" is the outbox's, never the server's: the run stopped before trying the message.
Kind = Literal["sent", "transient", "permanent", "setup", "unknown", "stopped"]

# One line each, naming the setting to change (the catalogue of this module's messages).
# Translated when they happen, in the language of the run (the Outbox's Error cell, the command).
SETUP = {
    "no_starttls": N_("{where} does not offer STARTTLS: set [smtp] security to \"ssl\" or \"none\", or the port "
                      "of its STARTTLS service ([smtp] port; ${env}SECURITY, ${env}PORT)"),
    "tls": N_("the TLS handshake with {where} failed ({error}): check [smtp] security (\"ssl\" for port 465, "
              "\"starttls\" for 587) and [smtp] port (${env}SECURITY, ${env}PORT)"),
    "login": N_("{where} refused the login ({reply}): check [smtp] user and ${env}PASSWORD"),
    "no_login": N_("{where} offers no login ({error}): remove [smtp] user, or set [smtp] security to \"starttls\" "
                   "or \"ssl\""),
    "refused": N_("{where} refused the session ({reply}): check [smtp] host and port (${env}HOST, ${env}PORT)"),
    # 530 to MAIL FROM / RCPT TO: a submission server that wants TLS, or a login, first.
    "tls_first": N_("{where} takes mail only over TLS ({reply}): set [smtp] security to \"starttls\" or \"ssl\", "
                    "with its port ([smtp] port; ${env}SECURITY, ${env}PORT)"),
    "login_first": N_("{where} takes mail only after a login ({reply}): set [smtp] user and ${env}PASSWORD"),
}
UNREACHABLE = N_("cannot reach {where}: {error} (if this persists, check [smtp] host and port)")


@dataclass(frozen=True)
class Outcome:
    kind: Kind
    reply: str = ""


@dataclass
class SmtpSender:
    """Sends messages over one SMTP session. Use as a context manager."""

    settings: SmtpSettings
    _smtp: smtplib.SMTP | None = field(default=None, init=False, repr=False)
    _down: Outcome | None = field(default=None, init=False, repr=False)

    def __enter__(self) -> "SmtpSender":
        return self

    def __exit__(self, *exc: object) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (smtplib.SMTPException, OSError):
                self._smtp.close()
            self._smtp = None

    def send(self, msg: EmailMessage) -> Outcome:
        if self._down is not None:
            return self._down  # one failed connection is enough per run
        try:
            smtp = self._connect()
        except (smtplib.SMTPException, OSError) as e:
            self._down = self._classify(e)
            return self._down
        try:
            # Everything that can fail on the message itself, before a byte of it is sent.
            sender, recipients = envelope(msg)
            body = msg.as_bytes(policy=SMTP_POLICY)
            for address in (sender, *recipients):
                address.encode("ascii")
        except Exception as e:  # noqa: BLE001 - any failure here is this message's, and nothing left
            return Outcome("permanent", self._scrub(_("the message cannot be sent as built: {error}", error=e)))
        try:
            code, reply = smtp.mail(sender)
            if code == 250:
                for rcpt in recipients:
                    code, reply = smtp.rcpt(rcpt)
                    if code not in (250, 251):
                        break
            if code not in (250, 251):
                self._reset()
                return self._refused(code, reply)
        except Exception as e:  # noqa: BLE001 - before DATA, nothing was handed over: safe to retry
            self._drop()
            return Outcome("transient", self._scrub(_("connection lost before the message was sent: {error}",
                                                       error=os_problem(e))))
        try:
            code, reply = smtp.data(body)
        except smtplib.SMTPDataError as e:
            # The answer to the DATA command itself: the body was never sent (a 421 closes the
            # connection, so the reset may fail; the next message opens a new one).
            self._reset()
            return self._refused(e.smtp_code, e.smtp_error)
        except Exception as e:  # noqa: BLE001 - the body may have left: never retried automatically
            self._drop()
            return Outcome("unknown", self._scrub(_("connection lost while the server was taking the message: {error}",
                                                     error=os_problem(e))))
        if code == 250:
            return Outcome("sent", self._scrub(f"{code} {_text(reply)}"))
        if 400 <= code < 600:
            # The transaction is over (RFC 5321), but a server that kept it (aiosmtpd after its
            # handler failed) answers the next MAIL FROM "503 nested MAIL command": the next
            # quote would fail for this one. RSET, as after a refused MAIL or RCPT.
            self._reset()
            return self._refused(code, reply)
        # The lines as the server sent them: smtplib's reading of a line with no code ("garbage")
        # is -1 and the line past its first four characters ("age").
        heard = ", ".join(quoted(_text(line).rstrip("\r\n")) for line in getattr(smtp, "heard", ()))
        self._drop()
        if code == -1:
            said = _("the server answered the message with {reply}, which has no reply code", reply=heard)
        else:
            said = _("the server answered the message with {reply}, which is no reply to a message (250, 4xx or "
                     "5xx)", reply=heard or quoted(_text(reply)))
        return Outcome("unknown", self._scrub(said))

    def _connect(self) -> smtplib.SMTP:
        if self._smtp is not None:
            return self._smtp
        s = self.settings
        port = s.port or DEFAULT_PORTS[s.security]
        context = ssl.create_default_context()
        smtp: smtplib.SMTP
        if s.security == "ssl":
            smtp = _HeardSSL(s.host, port, timeout=s.timeout, context=context)  # type: ignore[arg-type]
        else:
            smtp = _Heard(s.host, port, timeout=s.timeout)  # type: ignore[arg-type]
        try:
            smtp.ehlo()
            if s.security == "starttls":
                smtp.starttls(context=context)
                smtp.ehlo()
            if s.user:
                smtp.login(s.user, s.password.get_secret_value() if s.password else "")
        except BaseException:
            smtp.close()
            raise
        self._smtp = smtp
        return smtp

    def _classify(self, e: BaseException) -> Outcome:
        """A failure to set up the session: `setup` when a setting is wrong, else transient."""
        s = self.settings
        where = f"{s.host}:{s.port or DEFAULT_PORTS[s.security]}"
        reply = f"{e.smtp_code} {_text(e.smtp_error)}" if isinstance(e, smtplib.SMTPResponseException) else ""
        facts = {"where": where, "env": ENV_PREFIX, "reply": reply, "error": os_problem(e)}
        code = None
        if isinstance(e, smtplib.SMTPAuthenticationError):
            code = "login"
        elif isinstance(e, smtplib.SMTPNotSupportedError) and "STARTTLS" in str(e).upper():
            code = "no_starttls"
        elif isinstance(e, smtplib.SMTPNotSupportedError) or (isinstance(e, smtplib.SMTPException)
                                                              and "authentication" in str(e).lower()):
            code = "no_login"
        elif isinstance(e, ssl.SSLError):
            facts["error"] = e.reason or str(e)
            code = "tls"
        elif isinstance(e, smtplib.SMTPResponseException) and 500 <= e.smtp_code < 600:
            code = "refused"
        if code is not None:
            return Outcome("setup", self._scrub(_(SETUP[code], **facts)))
        if reply:  # 4xx to the greeting, EHLO or STARTTLS: the server is busy
            return Outcome("transient", self._scrub(_("{where} answered {reply}", where=where, reply=reply)))
        return Outcome("transient", self._scrub(_(UNREACHABLE, **facts)))

    def _drop(self) -> None:
        if self._smtp is not None:
            self._smtp.close()
            self._smtp = None

    def _reset(self) -> None:
        """RSET after a refusal, for the next message; a server that hung up (421) is dropped."""
        if self._smtp is not None:
            try:
                self._smtp.rset()
            except (smtplib.SMTPException, OSError):
                self._drop()

    def _refused(self, code: int, reply: bytes | str) -> Outcome:
        text = self._scrub(f"{code} {_text(reply)}")
        if code == 530:
            # Not this message's fault: no message goes out until [smtp] changes (RFC 4954).
            s = self.settings
            facts = {"where": f"{s.host}:{s.port or DEFAULT_PORTS[s.security]}", "env": ENV_PREFIX, "reply": text}
            key = "tls_first" if "TLS" in text.upper() else "login_first"
            self._down = Outcome("setup", self._scrub(_(SETUP[key], **facts)))
            return self._down
        return Outcome("permanent" if 500 <= code < 600 else "transient", text)

    def _scrub(self, text: str) -> str:
        password = self.settings.password
        secret = password.get_secret_value() if isinstance(password, SecretStr) else ""
        return text.replace(secret, "***") if secret else text


class _Tap:
    """A reply stream that keeps the lines read from it."""

    def __init__(self, stream, lines: list[bytes]) -> None:
        self.stream, self.lines = stream, lines

    def readline(self, size: int = -1) -> bytes:
        line = self.stream.readline(size)
        self.lines.append(line)
        return line

    def close(self) -> None:
        self.stream.close()


class _Hearing:
    """smtplib.SMTP that keeps the lines of the last reply as the server sent them (`heard`):
    smtplib takes each line's first four characters for its code and separator, so a line with
    no code reaches its caller as -1 and the rest of the line ("garbage" as -1 "age")."""

    heard: tuple[bytes, ...] = ()

    def getreply(self):  # type: ignore[no-untyped-def]
        lines: list[bytes] = []
        if self.file is None and self.sock is not None:  # type: ignore[attr-defined]
            self.file = self.sock.makefile("rb")  # type: ignore[attr-defined]
        stream = self.file  # type: ignore[has-type]
        if stream is not None:
            self.file = _Tap(stream, lines)
        try:
            return super().getreply()  # type: ignore[misc]
        finally:
            if self.file is not None:  # None when smtplib closed the connection
                self.file = stream
            self.heard = tuple(lines)


class _Heard(_Hearing, smtplib.SMTP):
    pass


class _HeardSSL(_Hearing, smtplib.SMTP_SSL):
    pass


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
