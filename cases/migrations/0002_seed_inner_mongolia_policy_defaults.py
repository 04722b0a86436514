"""Default policy data for Inner Mongolia (domain.md), marked unconfirmed where the source is.

- Procedure: the 2012 trial rules until 2021-06-30, the 2021 rules from 2021-07-01 (S3, S4: H).
- Asset limits, uplifts and rounding are local rules that could not be confirmed (domain.md §13):
  seeded as defaults with ``is_confirmed = False`` so the admin shows them for checking.
- Standards: the 2018 and 2019 regional averages (5,547 and 5,914 yuan a year, S10: M) at region
  level; counties import their own (``import_ledger standards``).
- Poverty line: 2,300 (2010 prices, H) and the current-price values of domain.md §9 (M/L).
"""

from datetime import date
from decimal import Decimal

from django.db import migrations

REGION = "150000000000"


def seed(apps, schema_editor):
    Area = apps.get_model("areas", "Area")
    PolicySetting = apps.get_model("cases", "PolicySetting")
    ClassifiedUplift = apps.get_model("cases", "ClassifiedUplift")
    GuaranteeStandard = apps.get_model("cases", "GuaranteeStandard")
    PovertyLine = apps.get_model("cases", "PovertyLine")
    region = Area.objects.filter(code=REGION).first()
    if region is None:  # areas not loaded (cannot happen after areas.0002)
        return
    profiles = [
        (
            date(2016, 1, 1),
            {
                "procedure_profile": "2012_trial",
                "investigation_days": 10, "appraisal_days": 5, "township_review_days": 5,
                "county_review_days": 5, "decision_days": 3, "rejection_notice_days": 3,
                "objection_days": 20, "overall_days": 30, "overall_extended_days": 45,
                "note": "时限按民发〔2012〕220号（H）；财产限额、分类施保、取整为待核实默认值",
            },
        ),
        (
            date(2021, 7, 1),
            {
                "procedure_profile": "2021",
                "investigation_days": 3, "appraisal_days": 5, "township_review_days": 5,
                "county_review_days": 10, "decision_days": 3, "rejection_notice_days": 3,
                "objection_days": 20, "overall_days": 30, "overall_extended_days": 45,
                "note": "时限按《最低生活保障审核确认办法》（2021，H）；财产限额、分类施保、取整为待核实默认值",
            },
        ),
    ]
    for effective_from, values in profiles:
        policy, created = PolicySetting.objects.get_or_create(
            area=region, effective_from=effective_from,
            defaults={
                **values, "is_confirmed": False, "notice_calendar_days": 7,
                "county_sample_rate": Decimal("0.30"), "rounding": "yuan_half_up",
                "minimum_per_person_monthly": Decimal("0"), "edge_family_factor": Decimal("1.50"),
                "deposit_limit_per_person": None, "vehicle_limit": 0, "house_limit": 2,
                "business_registration_disqualifies": True, "gradual_exit_months": 6,
                "registry_gradual_exit_months": 12, "death_check_months": 3,
                "work_refusal_limit": 3, "payment_frequency": "monthly",
                "tekun_investigation_days": 15, "tekun_county_review_days": 15,
            },
        )
        if created:
            for category, value, min_age in [
                ("severe_disability", Decimal("10"), None),
                ("elderly", Decimal("10"), 70),
                ("minor", Decimal("10"), None),
                ("serious_illness", Decimal("10"), None),
            ]:
                ClassifiedUplift.objects.create(
                    policy=policy, category=category, mode="percent", value=value,
                    elderly_min_age=min_age,
                )
    for effective_from, monthly, source in [
        (date(2018, 1, 1), Decimal("462.25"), "2018 年全区农村低保平均标准 5547 元/年（S10，M）"),
        (date(2019, 1, 1), Decimal("492.83"), "2019 年全区农村低保平均标准 5914 元/年（S10，M）"),
    ]:
        GuaranteeStandard.objects.get_or_create(
            area=region, effective_from=effective_from,
            defaults={"rural_dibao_monthly": monthly, "source": source, "is_confirmed": False,
                      "tekun_basic_monthly": Decimal("810.58") if effective_from.year == 2019 else None},
        )
    for year, amount, confirmed, source in [
        (2010, Decimal("2300"), True, "2010 年不变价（S18，H）"),
        (2013, Decimal("2736"), False, "当年价（L）"),
        (2014, Decimal("2800"), False, "当年价（L）"),
        (2015, Decimal("2855"), False, "当年价（L）"),
        (2016, Decimal("2952"), False, "当年价（S11，M/L）"),
    ]:
        PovertyLine.objects.get_or_create(
            year=year, defaults={"annual_amount": amount, "is_confirmed": confirmed, "source": source}
        )


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0001_create_cases_models"),
        ("areas", "0002_load_shipped_inner_mongolia_areas"),
    ]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
