"""HTTP agents: webhook delivery and e-mail notifications."""
