"""The generated AGC datasets these tests use are fixtures of tests/conftest.py."""
