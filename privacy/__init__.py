"""Personal data: erasure of a person on request, and the suppression of their ids afterwards."""
