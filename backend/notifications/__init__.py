"""Customer notifications: templates (pure), the outbox written with the change that calls
for a notice, the senders (SMS gateway or log, SMTP email) and the worker that sends the
outbox with retries. See ``outbox`` and ``worker`` for the guarantees; ``triggers`` (pure)
and ``hook`` for which change sends which notice; ``prefs`` for an organisation's settings,
own templates and opt-outs; ``quiet_hours`` (pure) for when nothing is sent."""
