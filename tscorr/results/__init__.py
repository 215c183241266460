"""Results out of the store: export formats, the HTML report and safe file writing."""
