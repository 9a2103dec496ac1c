"""Sites, devices, device-signed meter readings, settlement-interval energy and batteries."""
