"""The catalog's request / response / error vocabulary."""
