"""lowbao: rural dibao and extreme-poverty support cases, linked with the poverty registry."""

from lowbao.celery import app as celery_app

__all__ = ["celery_app"]
