"""The annual review campaign (issue 7). A signed list's snapshot never changes: PostgreSQL and
SQLite triggers refuse any UPDATE of ``review_reviewlistsnapshot`` (deletes are left to the
PROTECT foreign keys, so that Django's test flush still works)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


POSTGRESQL_CREATE = """
CREATE FUNCTION review_snapshot_refuse_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'review_reviewlistsnapshot is frozen: UPDATE refused'
        USING ERRCODE = 'restrict_violation';
END;
$$;
CREATE TRIGGER review_snapshot_frozen
    BEFORE UPDATE ON review_reviewlistsnapshot
    FOR EACH ROW EXECUTE FUNCTION review_snapshot_refuse_update();
"""
POSTGRESQL_DROP = """
DROP TRIGGER IF EXISTS review_snapshot_frozen ON review_reviewlistsnapshot;
DROP FUNCTION IF EXISTS review_snapshot_refuse_update();
"""
SQLITE_CREATE = """
CREATE TRIGGER review_snapshot_frozen BEFORE UPDATE ON review_reviewlistsnapshot
BEGIN SELECT RAISE(ABORT, 'review_reviewlistsnapshot is frozen: UPDATE refused'); END
"""
SQLITE_DROP = "DROP TRIGGER IF EXISTS review_snapshot_frozen"


def create_trigger(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_CREATE, params=None)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_CREATE, params=None)


def drop_trigger(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_DROP, params=None)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_DROP, params=None)


class Migration(migrations.Migration):

    dependencies = [
        ('areas', '0002_load_shipped_inner_mongolia_areas'),
        ('cases', '0007_policy_add_temporary_township_limit'),
        ('poverty', '0001_create_registry_and_linkage_models'),
        ('review', '0001_reconciliation_runs_items_and_history'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='ReviewCampaign',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('created_at', models.DateTimeField(auto_now_add=True, db_index=True, verbose_name='创建时间')),
                ('updated_at', models.DateTimeField(auto_now=True, verbose_name='更新时间')),
                ('year', models.PositiveSmallIntegerField(verbose_name='年度')),
                ('opens_on', models.DateField(verbose_name='开始日期')),
                ('due_on', models.DateField(verbose_name='截止日期')),
                ('status', models.CharField(choices=[('open', '复核中'), ('lists_confirmed', '乡镇名单已确认'), ('jointly_confirmed', '民政扶贫已共同确认'), ('signed', '已签字确认'), ('filed', '已报备案')], default='open', max_length=20, verbose_name='状态')),
                ('round', models.PositiveSmallIntegerField(default=1, help_text='每次重新打开加 1；此前的共同确认和签字不再有效', verbose_name='旗县名单轮次')),
                ('policy_note', models.CharField(blank=True, max_length=300, verbose_name='时限依据')),
                ('county', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='areas.area', verbose_name='旗县')),
                ('opened_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='发起人')),
            ],
            options={
                'verbose_name': '年度复核',
                'verbose_name_plural': '年度复核',
                'ordering': ['-year', 'county__code'],
            },
        ),
        migrations.CreateModel(
            name='ReviewList',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('created_at', models.DateTimeField(auto_now_add=True, db_index=True, verbose_name='创建时间')),
                ('updated_at', models.DateTimeField(auto_now=True, verbose_name='更新时间')),
                ('status', models.CharField(choices=[('open', '复核中'), ('confirmed', '乡镇已确认'), ('signed', '已签字')], default='open', max_length=12, verbose_name='状态')),
                ('round', models.PositiveSmallIntegerField(default=1, verbose_name='轮次')),
                ('confirmed_at', models.DateTimeField(blank=True, null=True, verbose_name='确认时间')),
                ('campaign', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='lists', to='review.reviewcampaign', verbose_name='年度复核')),
                ('confirmed_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='确认人')),
                ('township', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='areas.area', verbose_name='苏木乡镇')),
            ],
            options={
                'verbose_name': '复核名单',
                'verbose_name_plural': '复核名单',
                'ordering': ['campaign_id', 'township__code'],
            },
        ),
        migrations.CreateModel(
            name='ReviewItem',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('created_at', models.DateTimeField(auto_now_add=True, db_index=True, verbose_name='创建时间')),
                ('updated_at', models.DateTimeField(auto_now=True, verbose_name='更新时间')),
                ('kind', models.CharField(choices=[('dibao', '低保'), ('tekun', '特困供养'), ('registry', '建档立卡')], max_length=10, verbose_name='类别')),
                ('in_registry', models.BooleanField(default=False, verbose_name='在建档立卡台账')),
                ('amount_at_opening', models.DecimalField(decimal_places=2, default=0, max_digits=12, verbose_name='复核开始时月保障金额')),
                ('visited_on', models.DateField(blank=True, null=True, verbose_name='走访日期')),
                ('visit_findings', models.TextField(blank=True, verbose_name='走访情况')),
                ('means_test', models.JSONField(blank=True, default=dict, verbose_name='复核核算结果')),
                ('means_tested_on', models.DateField(blank=True, null=True, verbose_name='核算日期')),
                ('proposed_outcome', models.CharField(blank=True, choices=[('continue', '继续保障（维持）'), ('adjust_amount', '调整保障金额（次月起）'), ('gradual_exit', '进入渐退期'), ('stop', '停发（退出）'), ('propose_registry', '建议纳入建档立卡'), ('propose_registry_exit', '建议退出建档立卡')], max_length=24, verbose_name='建议结果')),
                ('proposal_note', models.TextField(blank=True, verbose_name='建议说明')),
                ('outcome', models.CharField(blank=True, choices=[('continue', '继续保障（维持）'), ('adjust_amount', '调整保障金额（次月起）'), ('gradual_exit', '进入渐退期'), ('stop', '停发（退出）'), ('propose_registry', '建议纳入建档立卡'), ('propose_registry_exit', '建议退出建档立卡')], max_length=24, verbose_name='复核结果')),
                ('new_amount', models.DecimalField(blank=True, decimal_places=2, max_digits=12, null=True, verbose_name='调整后月保障金额')),
                ('effective_month', models.DateField(blank=True, null=True, verbose_name='生效月份')),
                ('decision_note', models.TextField(blank=True, verbose_name='决定理由')),
                ('decided_at', models.DateTimeField(blank=True, null=True, verbose_name='决定时间')),
                ('area', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='areas.area', verbose_name='嘎查村')),
                ('campaign', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='items', to='review.reviewcampaign', verbose_name='年度复核')),
                ('change', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='cases.changereport', verbose_name='复核核算（变更报告）')),
                ('decided_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='决定人')),
                ('dibao_household', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='cases.household', verbose_name='低保/特困户')),
                ('home_visit', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='cases.homevisit', verbose_name='走访记录')),
                ('proposed_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='建议人')),
                ('referral', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='poverty.referral', verbose_name='移交')),
                ('registry_household', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='poverty.registryhousehold', verbose_name='建档立卡户')),
                ('verification_request', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='poverty.verificationrequest', verbose_name='核对申请')),
                ('worked_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='经办人')),
                ('review_list', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='items', to='review.reviewlist', verbose_name='复核名单')),
            ],
            options={
                'verbose_name': '复核对象',
                'verbose_name_plural': '复核对象',
                'ordering': ['review_list_id', 'area__code', 'id'],
            },
        ),
        migrations.CreateModel(
            name='ReviewConfirmation',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('scope', models.CharField(choices=[('township', '苏木乡镇名单'), ('county', '旗县名单')], max_length=10, verbose_name='名单范围')),
                ('round', models.PositiveSmallIntegerField(verbose_name='轮次')),
                ('role', models.CharField(max_length=40, verbose_name='确认部门（角色）')),
                ('confirmed_at', models.DateTimeField(verbose_name='确认时间')),
                ('content_sha256', models.CharField(max_length=64, verbose_name='确认内容摘要')),
                ('households', models.PositiveIntegerField(default=0, verbose_name='户数')),
                ('persons', models.PositiveIntegerField(default=0, verbose_name='人数')),
                ('note', models.CharField(blank=True, max_length=300, verbose_name='意见')),
                ('campaign', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='confirmations', to='review.reviewcampaign', verbose_name='年度复核')),
                ('confirmed_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='确认人')),
                ('review_list', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='confirmations', to='review.reviewlist', verbose_name='苏木乡镇名单')),
            ],
            options={
                'verbose_name': '名单确认',
                'verbose_name_plural': '名单确认',
                'ordering': ['campaign_id', 'confirmed_at', 'id'],
            },
        ),
        migrations.CreateModel(
            name='ReviewListSnapshot',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('scope', models.CharField(choices=[('township', '苏木乡镇名单'), ('county', '旗县名单')], max_length=10, verbose_name='名单范围')),
                ('round', models.PositiveSmallIntegerField(verbose_name='轮次')),
                ('title', models.CharField(max_length=200, verbose_name='标题')),
                ('header', models.JSONField(default=dict, verbose_name='表头信息')),
                ('rows', models.JSONField(verbose_name='名单内容')),
                ('row_count', models.PositiveIntegerField(verbose_name='户数')),
                ('content_sha256', models.CharField(max_length=64, verbose_name='内容摘要（SHA-256）')),
                ('created_at', models.DateTimeField(verbose_name='冻结时间')),
                ('campaign', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='snapshots', to='review.reviewcampaign', verbose_name='年度复核')),
                ('review_list', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='snapshots', to='review.reviewlist', verbose_name='苏木乡镇名单')),
            ],
            options={
                'verbose_name': '签字名单快照',
                'verbose_name_plural': '签字名单快照',
                'ordering': ['campaign_id', '-created_at', '-id'],
            },
        ),
        migrations.CreateModel(
            name='ReviewFiling',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('round', models.PositiveSmallIntegerField(verbose_name='轮次')),
                ('filed_at', models.DateTimeField(verbose_name='报备时间')),
                ('county_sha256', models.CharField(max_length=64, verbose_name='旗县名单摘要')),
                ('township_hashes', models.JSONField(default=list, help_text='[{township, name, sha256, snapshot}]', verbose_name='苏木乡镇名单摘要')),
                ('registry_dibao_households', models.PositiveIntegerField(default=0, verbose_name='纳入建档立卡的低保户数')),
                ('registry_dibao_persons', models.PositiveIntegerField(default=0, verbose_name='纳入建档立卡的低保人数')),
                ('note', models.CharField(blank=True, max_length=300, verbose_name='说明')),
                ('campaign', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='filings', to='review.reviewcampaign', verbose_name='年度复核')),
                ('filed_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='报备人')),
                ('league', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='areas.area', verbose_name='备案盟市')),
                ('county_snapshot', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='review.reviewlistsnapshot', verbose_name='旗县名单')),
            ],
            options={
                'verbose_name': '复核备案',
                'verbose_name_plural': '复核备案',
                'ordering': ['-filed_at', '-id'],
            },
        ),
        migrations.CreateModel(
            name='ReviewPolicy',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('created_at', models.DateTimeField(auto_now_add=True, db_index=True, verbose_name='创建时间')),
                ('updated_at', models.DateTimeField(auto_now=True, verbose_name='更新时间')),
                ('effective_from', models.DateField(verbose_name='生效日期')),
                ('opens_month', models.PositiveSmallIntegerField(default=10, verbose_name='开始月份')),
                ('opens_day', models.PositiveSmallIntegerField(default=1, verbose_name='开始日')),
                ('duration_months', models.PositiveSmallIntegerField(default=3, verbose_name='复核期（月）')),
                ('note', models.CharField(blank=True, max_length=300, verbose_name='依据/说明')),
                ('area', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='areas.area', verbose_name='区划')),
            ],
            options={
                'verbose_name': '年度复核参数',
                'verbose_name_plural': '年度复核参数',
                'ordering': ['area_id', '-effective_from'],
            },
        ),
        migrations.CreateModel(
            name='ReviewReopen',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('reason', models.TextField(verbose_name='重新打开原因')),
                ('from_status', models.CharField(max_length=20, verbose_name='原状态')),
                ('from_round', models.PositiveSmallIntegerField(verbose_name='原轮次')),
                ('at', models.DateTimeField(verbose_name='时间')),
                ('actor', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='操作人')),
                ('campaign', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='reopenings', to='review.reviewcampaign', verbose_name='年度复核')),
                ('review_list', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='reopenings', to='review.reviewlist', verbose_name='苏木乡镇名单')),
            ],
            options={
                'verbose_name': '重新打开',
                'verbose_name_plural': '重新打开',
                'ordering': ['campaign_id', 'at', 'id'],
            },
        ),
        migrations.CreateModel(
            name='ReviewSignature',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('scope', models.CharField(choices=[('township', '苏木乡镇名单'), ('county', '旗县名单')], max_length=10, verbose_name='名单范围')),
                ('round', models.PositiveSmallIntegerField(verbose_name='轮次')),
                ('role', models.CharField(max_length=40, verbose_name='签字身份（角色）')),
                ('signer_name', models.CharField(max_length=50, verbose_name='签字人姓名')),
                ('signed_at', models.DateTimeField(verbose_name='签字时间')),
                ('content_sha256', models.CharField(max_length=64, verbose_name='名单内容摘要（SHA-256）')),
                ('reauth_method', models.CharField(help_text='如 password；启用动态口令后为 password+totp', max_length=40, verbose_name='身份再验证方式')),
                ('campaign', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='signatures', to='review.reviewcampaign', verbose_name='年度复核')),
                ('review_list', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='signatures', to='review.reviewlist', verbose_name='苏木乡镇名单')),
                ('signer', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='签字人')),
                ('snapshot', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='review.reviewlistsnapshot', verbose_name='名单快照')),
            ],
            options={
                'verbose_name': '签字确认',
                'verbose_name_plural': '签字确认',
                'ordering': ['campaign_id', 'signed_at', 'id'],
            },
        ),
        migrations.CreateModel(
            name='SpotCheck',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('created_at', models.DateTimeField(auto_now_add=True, db_index=True, verbose_name='创建时间')),
                ('updated_at', models.DateTimeField(auto_now=True, verbose_name='更新时间')),
                ('year', models.PositiveSmallIntegerField(verbose_name='复核年度')),
                ('seed', models.CharField(max_length=40, verbose_name='随机种子')),
                ('sample_size', models.PositiveIntegerField(verbose_name='抽查户数')),
                ('population_size', models.PositiveIntegerField(verbose_name='备案总户数')),
                ('sampled_item_ids', models.JSONField(default=list, verbose_name='抽中的复核对象')),
                ('status', models.CharField(choices=[('drawn', '已抽取，核查中'), ('returned', '结果已反馈旗县')], default='drawn', max_length=10, verbose_name='状态')),
                ('returned_at', models.DateTimeField(blank=True, null=True, verbose_name='反馈时间')),
                ('summary', models.TextField(blank=True, verbose_name='抽查结论')),
                ('drawn_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='抽查人')),
                ('league', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='areas.area', verbose_name='盟市')),
            ],
            options={
                'verbose_name': '备案抽查',
                'verbose_name_plural': '备案抽查',
                'ordering': ['-created_at', '-id'],
            },
        ),
        migrations.CreateModel(
            name='SpotCheckFinding',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('created_at', models.DateTimeField(auto_now_add=True, db_index=True, verbose_name='创建时间')),
                ('updated_at', models.DateTimeField(auto_now=True, verbose_name='更新时间')),
                ('result', models.CharField(choices=[('confirmed', '核实无误'), ('problem', '发现问题')], max_length=10, verbose_name='抽查结果')),
                ('note', models.TextField(blank=True, verbose_name='说明')),
                ('county', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='areas.area', verbose_name='旗县')),
                ('item', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='spot_findings', to='review.reviewitem', verbose_name='复核对象')),
                ('recorded_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='记录人')),
                ('spot_check', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='findings', to='review.spotcheck', verbose_name='抽查')),
            ],
            options={
                'verbose_name': '抽查发现',
                'verbose_name_plural': '抽查发现',
                'ordering': ['spot_check_id', 'item_id'],
            },
        ),
        migrations.AddConstraint(
            model_name='reviewcampaign',
            constraint=models.UniqueConstraint(fields=('county', 'year'), name='review_campaign_once_a_year'),
        ),
        migrations.AddConstraint(
            model_name='reviewcampaign',
            constraint=models.CheckConstraint(condition=models.Q(('status__in', ['open', 'lists_confirmed', 'jointly_confirmed', 'signed', 'filed'])), name='review_campaign_status_valid'),
        ),
        migrations.AddConstraint(
            model_name='reviewcampaign',
            constraint=models.CheckConstraint(condition=models.Q(('due_on__gt', models.F('opens_on'))), name='review_campaign_due_after_open'),
        ),
        migrations.AddConstraint(
            model_name='reviewlist',
            constraint=models.UniqueConstraint(fields=('campaign', 'township'), name='review_list_once_per_township'),
        ),
        migrations.AddConstraint(
            model_name='reviewlist',
            constraint=models.CheckConstraint(condition=models.Q(('status__in', ['open', 'confirmed', 'signed'])), name='review_list_status_valid'),
        ),
        migrations.AddConstraint(
            model_name='reviewlist',
            constraint=models.CheckConstraint(condition=models.Q(('status', 'open'), ('confirmed_at__isnull', False), _connector='OR'), name='review_list_confirmed_has_time'),
        ),
        migrations.AddIndex(
            model_name='reviewitem',
            index=models.Index(fields=['review_list', 'outcome'], name='review_item_progress_idx'),
        ),
        migrations.AddConstraint(
            model_name='reviewitem',
            constraint=models.CheckConstraint(condition=models.Q(('kind__in', ['dibao', 'tekun', 'registry'])), name='review_item_kind_valid'),
        ),
        migrations.AddConstraint(
            model_name='reviewitem',
            constraint=models.CheckConstraint(condition=models.Q(('dibao_household__isnull', False), ('registry_household__isnull', False), _connector='OR'), name='review_item_has_household'),
        ),
        migrations.AddConstraint(
            model_name='reviewitem',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('dibao_household__isnull', True), ('kind', 'registry')), models.Q(models.Q(('kind', 'registry'), _negated=True), ('dibao_household__isnull', False)), _connector='OR'), name='review_item_kind_matches_household'),
        ),
        migrations.AddConstraint(
            model_name='reviewitem',
            constraint=models.CheckConstraint(condition=models.Q(('outcome', ''), ('decided_at__isnull', False), _connector='OR'), name='review_item_decided_has_time'),
        ),
        migrations.AddConstraint(
            model_name='reviewitem',
            constraint=models.UniqueConstraint(condition=models.Q(('dibao_household__isnull', False)), fields=('campaign', 'dibao_household'), name='review_item_once_per_dibao_household'),
        ),
        migrations.AddConstraint(
            model_name='reviewitem',
            constraint=models.UniqueConstraint(condition=models.Q(('registry_household__isnull', False)), fields=('campaign', 'registry_household'), name='review_item_once_per_registry_household'),
        ),
        migrations.AddConstraint(
            model_name='reviewconfirmation',
            constraint=models.UniqueConstraint(condition=models.Q(('review_list__isnull', False)), fields=('review_list', 'round', 'role'), name='review_confirmation_once_per_list_round_role'),
        ),
        migrations.AddConstraint(
            model_name='reviewconfirmation',
            constraint=models.UniqueConstraint(condition=models.Q(('review_list__isnull', True)), fields=('campaign', 'round', 'role'), name='review_confirmation_once_per_county_round_role'),
        ),
        migrations.AddConstraint(
            model_name='reviewfiling',
            constraint=models.UniqueConstraint(fields=('campaign', 'round'), name='review_filing_once_a_round'),
        ),
        migrations.AddConstraint(
            model_name='reviewpolicy',
            constraint=models.UniqueConstraint(fields=('area', 'effective_from'), name='review_policy_once_per_date'),
        ),
        migrations.AddConstraint(
            model_name='reviewpolicy',
            constraint=models.CheckConstraint(condition=models.Q(('opens_month__gte', 1), ('opens_month__lte', 12)), name='review_policy_month_valid'),
        ),
        migrations.AddConstraint(
            model_name='reviewpolicy',
            constraint=models.CheckConstraint(condition=models.Q(('opens_day__gte', 1), ('opens_day__lte', 28)), name='review_policy_day_valid'),
        ),
        migrations.AddConstraint(
            model_name='reviewpolicy',
            constraint=models.CheckConstraint(condition=models.Q(('duration_months__gte', 1), ('duration_months__lte', 12)), name='review_policy_duration_valid'),
        ),
        migrations.AddConstraint(
            model_name='reviewsignature',
            constraint=models.UniqueConstraint(condition=models.Q(('review_list__isnull', False)), fields=('review_list', 'round', 'role'), name='review_signature_once_per_list_round_role'),
        ),
        migrations.AddConstraint(
            model_name='reviewsignature',
            constraint=models.UniqueConstraint(condition=models.Q(('review_list__isnull', True)), fields=('campaign', 'round', 'role'), name='review_signature_once_per_county_round_role'),
        ),
        migrations.AddConstraint(
            model_name='spotcheck',
            constraint=models.CheckConstraint(condition=models.Q(('status__in', ['drawn', 'returned'])), name='spot_check_status_valid'),
        ),
        migrations.AddConstraint(
            model_name='spotcheckfinding',
            constraint=models.UniqueConstraint(fields=('spot_check', 'item'), name='spot_finding_once'),
        ),
        migrations.AddConstraint(
            model_name='spotcheckfinding',
            constraint=models.CheckConstraint(condition=models.Q(('result__in', ['confirmed', 'problem'])), name='spot_finding_result_valid'),
        ),
        migrations.AddConstraint(
            model_name='spotcheckfinding',
            constraint=models.CheckConstraint(condition=models.Q(('result', 'confirmed'), models.Q(('note', ''), _negated=True), _connector='OR'), name='spot_finding_problem_has_note'),
        ),
        migrations.RunPython(create_trigger, drop_trigger, elidable=False),
    ]
