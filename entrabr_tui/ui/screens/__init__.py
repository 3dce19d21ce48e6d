"""Screens and dialogs: main screen, help, history, confirmations, report and restore flows."""
