"""One e-mail attempt with the standard library (smtplib, email.message)."""

from __future__ import annotations

import smtplib
import ssl
import time
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from engine.notify.settings import NotifySettings
from engine.notify.webhook import Outcome


def send(
    settings: NotifySettings,
    recipients: list[str],
    subject: str,
    text: str,
    delivery_uid: str,
) -> Outcome:
    """One message to every recipient (the To header lists them: colleagues on one desk). A
    refused recipient fails the attempt (a retry sends to all again: mail is at-least-once)."""
    msg = EmailMessage()
    msg["From"] = settings.smtp_from
    msg["To"] = ", ".join(recipients)
    msg["Subject"] = subject
    msg["Date"] = formatdate(usegmt=True)
    msg["Message-ID"] = make_msgid(idstring=delivery_uid)
    msg["X-Sanctions-Delivery"] = delivery_uid
    msg.set_content(text)
    start = time.perf_counter()
    host = settings.smtp_host or "localhost"
    try:
        with smtplib.SMTP(host, settings.smtp_port, timeout=settings.timeout) as smtp:
            if settings.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
            if settings.smtp_user:
                smtp.login(settings.smtp_user, settings.smtp_password or "")
            refused = smtp.send_message(msg, to_addrs=recipients)
            code, reply = smtp.noop()
    except (smtplib.SMTPException, OSError) as exc:
        failed_code = getattr(exc, "smtp_code", None)
        return Outcome(False, failed_code, None, f"{type(exc).__name__}: {exc}"[:500], _ms(start))
    if refused:
        return Outcome(False, None, None, f"refused recipients: {refused}"[:500], _ms(start))
    excerpt = f"accepted by {host}:{settings.smtp_port} for {len(recipients)} recipient(s)"
    return Outcome(
        True, code, f"{excerpt}; {reply.decode(errors='replace')}"[:1000], None, _ms(start)
    )


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 2)
