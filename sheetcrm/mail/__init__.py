"""Quotes by email: pricing (`quotes`), template context (`context`), sandboxed rendering
(`templates`), message building (`message`), SMTP delivery (`smtp`) and the Outbox state
machine (`outbox`). docs/quotes.md describes the whole flow."""
