"""Policy documents, their CEL conditions and the decision point."""
