"""WSGI entry point (gunicorn lowbao.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lowbao.settings.production")

application = get_wsgi_application()
