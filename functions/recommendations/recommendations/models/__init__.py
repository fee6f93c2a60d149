"""The recommendations service's vocabulary: request bodies, responses, errors."""
