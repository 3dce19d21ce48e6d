"""Widgets of the main screen: the four panes and the status line."""
