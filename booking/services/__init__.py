"""The services: what the clinic does, with no Flask request in sight (views call these)."""
