"""Runnable examples of Portside in an application."""
