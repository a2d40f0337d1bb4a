"""The layers of ``ember.nn``, one file per kind."""
