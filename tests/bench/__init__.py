"""`make bench`: the pipeline's speed and footprint next to bare Scrapy on the same pages."""
