"""Input and output at the edges of the pipeline: the SAFE reader and the output writers."""
