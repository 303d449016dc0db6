"""Reports for analysts: parameters, the reports by name, HTML with charts, the HTTP API and its dashboard."""
