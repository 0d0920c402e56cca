"""Gate lanes (shell): lane drivers, credential readers, the ANPR endpoint, the local API."""
