"""Email: inbound from an IMAP mailbox (imap.py) and an SMTP listener (smtp_listener.py),
both through one accepting step (inbound.py); replies through aiosmtplib (channel.py);
attachments cut out of the stored original when an agent opens them (attachments.py).
MIME objects never leave this package."""
