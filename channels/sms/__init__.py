"""SMS and MMS over Twilio: the inbound and status webhooks (webhook.py), replies through the
twilio client (channel.py), and media fetched only from Twilio when an agent opens it (media.py)."""
