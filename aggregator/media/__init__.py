"""Media kept locally: a content-addressed store and the job that fills it from approved posts."""
