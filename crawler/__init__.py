"""Scrapy project that turns news-aggregator pages and feeds into Hexo posts."""
