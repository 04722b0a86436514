from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "lowbao.audit"
    label = "audit"
    verbose_name = "审计"

    def ready(self) -> None:
        # Imported here because the receivers import the models, which need the app registry.
        from lowbao.audit import auth_events

        auth_events.connect_auth_receivers()
