# Production image: gunicorn web, Celery worker and beat share it (see docker-compose.yml).
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DJANGO_SETTINGS_MODULE=lowbao.settings.production
RUN apt-get update && apt-get install -y --no-install-recommends fonts-wqy-zenhei \
    && rm -rf /var/lib/apt/lists/* && useradd --system --home /app lowbao
WORKDIR /app
COPY pyproject.toml requirements.lock README.md ./
COPY lowbao ./lowbao
COPY cases ./cases
COPY poverty ./poverty
COPY review ./review
COPY templates ./templates
COPY static ./static
COPY manage.py ./
RUN pip install --no-cache-dir -c requirements.lock . \
    && DJANGO_SETTINGS_MODULE=lowbao.settings.base DJANGO_SECRET_KEY=build python manage.py collectstatic --noinput
USER lowbao
EXPOSE 8000
CMD ["gunicorn", "lowbao.wsgi", "--bind", "0.0.0.0:8000", "--workers", "4", "--timeout", "120"]
