"""Derivations of the HW2 document, one module each."""
