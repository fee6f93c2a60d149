"""Request/response/error vocabulary and the domain records of the playback service."""
