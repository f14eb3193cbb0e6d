"""Helm charts: where a chart reads each image (`values`), reading a chart as Helm would
(`read`), and checking a spec against it (`check`)."""
