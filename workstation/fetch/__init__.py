"""History download into the bar store: `workstation fetch alpaca` (workstation.fetch.alpaca), the
resume ledger (workstation.fetch.ledger) and the command line (workstation.fetch.commands)."""
