"""Spelling of the pages (hunspell + the project's word lists): see checker.py."""
