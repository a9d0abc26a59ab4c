"""WhatsApp over Twilio: inbound from Twilio's WhatsApp sender webhook (webhook.py), replies
and approved templates through the twilio client (channel.py), media fetched when an agent
opens it under SMS's guarded fetch. A WhatsApp number is the same contact as its SMS one.
Twilio's forms never leave this package."""
