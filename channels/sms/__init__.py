"""SMS over Twilio. Inbound webhook today; replies, status callbacks and MMS media are
issue 3's remaining work."""
