"""The ground floor: one error type, atomic writes, where files live, the JVM bridge, consoles and progress output.

Imports nothing of bench and nothing of ``retrievers``; every other layer may import it.
"""
