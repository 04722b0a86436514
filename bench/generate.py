"""Realistic synthetic ledgers for the benchmarks (quality.md "Performance"): the 低保花名册 of
ledgers.md §2 and the 建档立卡 export of §3, as real offices keep them.

- **People.** Valid GB 11643 ID numbers whose area prefix is the county's and whose birth date
  fits the person's place in the household (parents older than their children, no one born in the
  future); the sex digit matches the relation. Chinese (and Mongolian) names; household sizes from
  1 to 6 people.
- **Files.** Title rows above the header (the header is in row 3), an unknown ``序号`` column, and
  household-level cells repeated on every member row, given on the head's row only, or merged down
  over the household (``household_cells``). Villages by 嘎查村代码 and by name.
- **Bad rows.** ``bad_rows=N`` spreads N errors of several codes over the file and lists each as
  (row, column, code) in ``LedgerFile.bad``.
- **Fast and flat.** Households are generated lazily from a seeded RNG and written with xlsxwriter
  in constant-memory mode (each row is written out as soon as the next one starts), so a
  500,000-person file takes seconds and little memory.

Command line (writes the file and prints what it holds)::

    python bench/generate.py dibao out.xlsx --persons 100000 [--county 150121000000]
        [--household-cells repeat|head|merge] [--bad-rows N] [--seed 1]
    python bench/generate.py poverty out.xlsx --persons 100000

``county_area_rows`` gives the townships and villages a generated file refers to, as
``(code, name, level, parent_code)`` rows for ``lowbao.areas.services.area_load_rows``.
"""

import argparse
import random
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import xlsxwriter

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from lowbao.people.id_numbers import compute_check_char  # noqa: E402

DEFAULT_COUNTY = "150121000000"  # 土默特左旗
LATEST_BIRTH = date(2024, 12, 31)

SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
    "苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史"
)
GIVEN_MALE = [
    "建国",
    "志强",
    "卫东",
    "海军",
    "明",
    "磊",
    "伟",
    "军",
    "勇",
    "斌",
    "涛",
    "俊杰",
    "国庆",
    "建华",
    "永胜",
    "文斌",
    "宝音",
    "巴特尔",
    "那日苏",
    "额尔敦",
    "朝鲁",
    "苏和",
    "孟和",
    "阿拉坦",
    "毕力格",
    "吉日嘎拉",
    "锁柱",
    "二小",
    "根柱",
    "福生",
]
GIVEN_FEMALE = [
    "秀英",
    "桂兰",
    "玉珍",
    "丽娟",
    "淑珍",
    "春花",
    "静",
    "芳",
    "燕",
    "丽",
    "霞",
    "红梅",
    "玉兰",
    "凤英",
    "桂花",
    "乌云",
    "其其格",
    "斯琴",
    "萨仁",
    "图雅",
    "高娃",
    "娜仁",
    "托娅",
    "塔娜",
    "其木格",
    "秀兰",
    "美玲",
    "翠花",
    "小红",
    "海英",
]
TOWNSHIP_STEMS = [
    "察素齐",
    "毕克齐",
    "善岱",
    "台阁牧",
    "白庙子",
    "北什轴",
    "塔布赛",
    "沙尔沁",
    "敕勒川",
    "兵州亥",
    "五申",
    "大岱",
    "把什",
    "什拉乌素",
    "哈素",
    "陶思浩",
    "讨号板",
    "三两",
    "白庙",
    "西营",
    "东营",
    "公积板",
    "古雁",
    "苏波盖",
    "老牛湾",
    "南园",
    "新营",
]
VILLAGE_STEMS = [
    "东",
    "西",
    "南",
    "北",
    "前",
    "后",
    "新",
    "旧",
    "大",
    "小",
    "上",
    "下",
    "中",
    "河",
    "沟",
    "湾",
    "营",
    "滩",
    "梁",
    "坝",
    "口",
    "堡",
    "庄",
    "店",
    "林",
    "泉",
    "岗",
    "台",
    "窑",
    "渠",
    "园",
    "场",
    "海",
    "图",
    "乌",
    "巴",
    "哈",
    "达",
    "苏",
    "布",
    "格",
    "德",
    "乃",
    "塔",
    "尔",
    "沁",
    "板",
    "素",
    "浩",
    "特",
]
ETHNICITIES = ["汉族"] * 7 + ["蒙古族"] * 2 + ["回族", "满族"]
LABOUR = ["普通劳动力"] * 4 + ["弱劳动力", "丧失劳动力", "无劳动力", "技能劳动力"]
HEALTH = ["健康"] * 5 + ["长期慢性病", "长期慢性病", "患有大病", "残疾"]
CLASSIFICATIONS = ["一类", "二类", "三类"]
BANKS = ["内蒙古农村信用社", "中国农业银行", "中国邮政储蓄银行", "内蒙古农商银行"]
POVERTY_CAUSES = [
    "因病",
    "因残",
    "因学",
    "缺劳动力",
    "缺技术",
    "缺资金",
    "因灾",
    "自身发展动力不足",
]
EDUCATION = ["文盲或半文盲", "小学", "初中", "高中", "大专及以上"]
HOUSEHOLD_SIZES = (1, 1, 1, 2, 2, 2, 3, 3, 4, 4, 5, 6)  # mean 2.8, like a rural roster

DIBAO_HEADERS = [
    "序号",
    "户编号",
    "苏木乡镇",
    "嘎查村",
    "嘎查村代码",
    "姓名",
    "身份证号",
    "与户主关系",
    "民族",
    "是否保障对象",
    "劳动能力",
    "健康状况",
    "残疾等级",
    "救助类型",
    "保障类别",
    "月人均收入",
    "月保障金额",
    "保障起始年月",
    "开户银行",
    "银行账号",
    "联系电话",
]
DIBAO_HOUSEHOLD_COLUMNS = (
    "户编号",
    "苏木乡镇",
    "嘎查村",
    "嘎查村代码",
    "救助类型",
    "保障类别",
    "月人均收入",
    "月保障金额",
    "保障起始年月",
    "开户银行",
    "银行账号",
    "联系电话",
)
POVERTY_HEADERS = [
    "序号",
    "户编号",
    "人编号",
    "苏木乡镇",
    "嘎查村",
    "嘎查村代码",
    "姓名",
    "证件号码",
    "与户主关系",
    "民族",
    "文化程度",
    "在校生状况",
    "健康状况",
    "劳动能力",
    "务工状况",
    "务工时间",
    "贫困户属性",
    "主要致贫原因",
    "脱贫状态",
    "脱贫年度",
    "识别年度",
    "家庭年人均纯收入",
    "享受低保金额",
    "帮扶责任人",
]
POVERTY_HOUSEHOLD_COLUMNS = (
    "户编号",
    "苏木乡镇",
    "嘎查村",
    "嘎查村代码",
    "贫困户属性",
    "主要致贫原因",
    "脱贫状态",
    "脱贫年度",
    "识别年度",
    "家庭年人均纯收入",
    "享受低保金额",
    "帮扶责任人",
)


# --- areas ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Village:
    code: str
    name: str
    township_code: str
    township_name: str


def county_villages(
    county_code: str = DEFAULT_COUNTY, *, townships: int = 12, villages_per_township: int = 15
) -> list[Village]:
    """Townships ``{county6}{100+i}000`` and villages ``{township9}{200+j}``, names unique in
    the county (so a name resolves to exactly one village)."""
    stems = list(TOWNSHIP_STEMS)
    villages = []
    used: set[str] = set()
    for index in range(townships):
        stem = stems[index % len(stems)] + ("" if index < len(stems) else str(index // len(stems)))
        township_name = stem + ("镇" if index % 3 else "苏木")
        township_code = f"{county_code[:6]}{100 + index:03d}000"
        for number in range(villages_per_township):
            first = VILLAGE_STEMS[(index * 7 + number) % len(VILLAGE_STEMS)]
            second = VILLAGE_STEMS[(index * 3 + number * 5 + 11) % len(VILLAGE_STEMS)]
            name = f"{stem}{first}{second}" + ("村" if number % 2 else "嘎查")
            while name in used:
                name = name[:-1] + "新" + name[-1]
            used.add(name)
            code = f"{township_code[:9]}{200 + number:03d}"
            villages.append(Village(code, name, township_code, township_name))
    return villages


def county_area_rows(villages: Iterable[Village]) -> list[tuple[str, str, str, str]]:
    """``(code, name, level, parent_code)`` rows of the townships and villages."""
    rows: dict[str, tuple[str, str, str, str]] = {}
    for village in villages:
        county = village.township_code[:6] + "000000"
        rows.setdefault(
            village.township_code,
            (village.township_code, village.township_name, "township", county),
        )
        rows[village.code] = (village.code, village.name, "village", village.township_code)
    return list(rows.values())


# --- people and households -----------------------------------------------------------------


@dataclass
class Member:
    name: str
    id_number: str
    relation: str
    ethnicity: str
    labour: str
    health: str
    grade: str = ""
    covered: str = "是"


@dataclass
class Household:
    number: str
    village: Village
    programme: str
    classification: str
    income: str
    amount: str
    start_month: str
    bank_name: str
    account: str
    phone: str
    members: list[Member] = field(default_factory=list)


class People:
    """Unique valid ID numbers for one county (area prefix = the county's first 6 digits)."""

    def __init__(self, county_code: str, rng: random.Random) -> None:
        self.prefix = county_code[:6]
        self.rng = rng
        self.used: set[int] = set()

    def id_number(self, born: date, *, male: bool) -> str:
        attempt = 0
        while True:
            seq = self.rng.randrange(0, 500) * 2 + (1 if male else 0)
            key = born.toordinal() * 1000 + seq
            if key not in self.used:
                self.used.add(key)
                break
            attempt += 1
            if attempt % 8 == 0:
                born -= timedelta(days=1)  # that day is crowded: the day before
        body = f"{self.prefix}{born:%Y%m%d}{seq:03d}"
        return body + compute_check_char(body)

    def birth(self, earliest_year: int, latest_year: int) -> date:
        earliest_year = min(max(1900, earliest_year), LATEST_BIRTH.year - 1)
        latest_year = min(max(earliest_year, latest_year), LATEST_BIRTH.year - 1)
        earliest, latest = date(earliest_year, 1, 1), date(latest_year, 12, 28)
        return earliest + timedelta(days=self.rng.randrange((latest - earliest).days))

    def name(self, surname: str, *, male: bool) -> str:
        given = self.rng.choice(GIVEN_MALE if male else GIVEN_FEMALE)
        return surname + given if len(given) < 4 else given  # Mongolian names stand alone


def _member(people: People, relation: str, surname: str, born: date, male: bool) -> Member:
    rng = people.rng
    health = rng.choice(HEALTH)
    age = 2026 - born.year
    labour = "无劳动力" if age < 16 or age > 70 else rng.choice(LABOUR)
    return Member(
        name=people.name(surname, male=male),
        id_number=people.id_number(born, male=male),
        relation=relation,
        ethnicity=rng.choice(ETHNICITIES),
        labour=labour,
        health=health,
        grade=rng.choice(["一级", "二级", "三级", "四级"]) if health == "残疾" else "",
        covered="否" if rng.random() < 0.03 and relation != "户主" else "是",
    )


def _members(people: People, size: int) -> list[Member]:
    rng = people.rng
    surname = rng.choice(SURNAMES)
    head_year = rng.randrange(1940, 1990)
    head_male = rng.random() < 0.7
    members = [_member(people, "户主", surname, people.birth(head_year, head_year), head_male)]
    remaining = size - 1
    if remaining and rng.random() < 0.8:
        spouse_year = head_year + rng.randrange(-5, 6)
        members.append(
            _member(
                people,
                "配偶",
                rng.choice(SURNAMES),
                people.birth(spouse_year, spouse_year),
                not head_male,
            )
        )
        remaining -= 1
    if remaining and head_year < 1975 and rng.random() < 0.15:
        parent_year = head_year - rng.randrange(22, 32)
        male = rng.random() < 0.4
        members.append(
            _member(
                people,
                "父亲" if male else "母亲",
                surname,
                people.birth(parent_year, parent_year),
                male,
            )
        )
        remaining -= 1
    child_years = []
    while remaining > 0:
        if child_years and head_year < 1965 and rng.random() < 0.3:
            year = rng.choice(child_years) + rng.randrange(20, 30)
            male = rng.random() < 0.5
            relation = "孙子" if male else "孙女"
        else:
            year = head_year + rng.randrange(20, 36)
            child_years.append(year)
            male = rng.random() < 0.5
            relation = rng.choice(["子", "之子", "长子"] if male else ["女", "之女", "长女"])
        members.append(_member(people, relation, surname, people.birth(year, year), male))
        remaining -= 1
    return members


def households(
    county_code: str = DEFAULT_COUNTY,
    *,
    persons: int,
    villages: list[Village] | None = None,
    seed: int = 1,
    first_number: int = 1,
) -> Iterator[Household]:
    """Households of the county, lazily, until ``persons`` people have been generated."""
    rng = random.Random(seed)
    people = People(county_code, rng)
    villages = villages or county_villages(county_code)
    made = 0
    number = first_number
    while made < persons:
        size = min(rng.choice(HOUSEHOLD_SIZES), persons - made)
        members = _members(people, size)
        covered = sum(member.covered == "是" for member in members)
        income = rng.randrange(0, 40000) / 100
        amount = max(50.0, round((700 - income) * covered * rng.uniform(0.6, 1.0), 2))
        tekun = size == 1 and rng.random() < 0.3
        yield Household(
            number=f"{county_code[:6]}{number:08d}",
            village=rng.choice(villages),
            programme="特困供养" if tekun else "低保",
            classification="" if tekun else rng.choice(CLASSIFICATIONS),
            income=f"{income:.2f}",
            amount=f"{amount:.2f}",
            start_month=f"{rng.randrange(2014, 2026)}-{rng.randrange(1, 13):02d}",
            bank_name=rng.choice(BANKS),
            account="6228" + "".join(rng.choice("0123456789") for _ in range(15)),
            phone="1" + rng.choice("3578") + "".join(rng.choice("0123456789") for _ in range(9)),
            members=members,
        )
        made += size
        number += 1


# --- writing -----------------------------------------------------------------------------------


@dataclass
class LedgerFile:
    path: Path
    rows: int = 0
    households: int = 0
    persons: int = 0
    header_row: int = 3
    bad: list[tuple[int, str, str]] = field(default_factory=list)


def _dibao_cells(household: Household, member: Member) -> dict[str, str]:
    village = household.village
    return {
        "户编号": household.number,
        "苏木乡镇": village.township_name,
        "嘎查村": village.name,
        "嘎查村代码": village.code,
        "姓名": member.name,
        "身份证号": member.id_number,
        "与户主关系": member.relation,
        "民族": member.ethnicity,
        "是否保障对象": member.covered,
        "劳动能力": member.labour,
        "健康状况": member.health,
        "残疾等级": member.grade,
        "救助类型": household.programme,
        "保障类别": household.classification,
        "月人均收入": household.income,
        "月保障金额": household.amount,
        "保障起始年月": household.start_month,
        "开户银行": household.bank_name,
        "银行账号": household.account,
        "联系电话": household.phone,
    }


def _poverty_cells(household: Household, member: Member) -> dict[str, str]:
    village = household.village
    digits = int(household.number[-6:])
    status = ("已脱贫", "已脱贫", "已脱贫", "未脱贫", "返贫")[digits % 5]
    return {
        "户编号": household.number,
        "人编号": member.id_number[-8:],
        "苏木乡镇": village.township_name,
        "嘎查村": village.name,
        "嘎查村代码": village.code,
        "姓名": member.name,
        "证件号码": member.id_number,
        "与户主关系": member.relation,
        "民族": member.ethnicity,
        "文化程度": EDUCATION[digits % len(EDUCATION)],
        "在校生状况": "非在校生",
        "健康状况": member.health,
        "劳动能力": member.labour,
        "务工状况": "",
        "务工时间": "",
        "贫困户属性": "低保贫困户" if household.programme == "低保" else "特困供养贫困户",
        "主要致贫原因": POVERTY_CAUSES[digits % len(POVERTY_CAUSES)],
        "脱贫状态": status,
        "脱贫年度": "2019" if status == "已脱贫" else "",
        "识别年度": "2014",
        "家庭年人均纯收入": f"{float(household.income) * 12 + 1800:.2f}",
        "享受低保金额": household.amount if household.programme == "低保" else "",
        "帮扶责任人": "驻村工作队",
    }


# (column, bad value, expected code) injected by ``bad_rows``, in turn.
DIBAO_BAD_VALUES: tuple[tuple[str, str | None, str], ...] = (
    ("身份证号", None, "id_checksum"),  # None: the member's number with a wrong check digit
    ("月人均收入", "约三百", "bad_number"),
    ("月保障金额", "-5.00", "negative_amount"),
    ("劳动能力", "很强", "bad_enum"),
    ("保障起始年月", "2016-13", "bad_date"),
)


def _wrong_check_digit(id_number: str) -> str:
    right = id_number[-1]
    return id_number[:-1] + ("0" if right != "0" else "1")


def write_ledger(
    path: Path | str,
    source: Iterable[Household],
    *,
    kind: str = "dibao",
    household_cells: str = "repeat",
    bad_rows: int = 0,
    expected_rows: int | None = None,
    title: str | None = None,
    shared_strings: bool = False,
) -> LedgerFile:
    """Write ``source`` as a ``kind`` ledger ("dibao" or "poverty").

    ``household_cells``: "repeat" (every member row), "head" (the head's row only) or "merge"
    (merged down over the member rows). ``bad_rows`` errors are spread evenly over the first
    ``expected_rows`` data rows (dibao only) and listed in ``LedgerFile.bad``.

    By default cells are inline strings (xlsxwriter's constant-memory mode: flat memory at any
    size). ``shared_strings=True`` writes a shared-string table as Excel and WPS do; xlsxwriter
    then keeps the whole sheet in memory until it is closed (fine up to ~100,000 rows).
    """
    if household_cells not in {"repeat", "head", "merge"}:
        raise ValueError("household_cells is repeat, head or merge")
    path = Path(path)
    headers = DIBAO_HEADERS if kind == "dibao" else POVERTY_HEADERS
    cells_of = _dibao_cells if kind == "dibao" else _poverty_cells
    household_columns = DIBAO_HOUSEHOLD_COLUMNS if kind == "dibao" else POVERTY_HOUSEHOLD_COLUMNS
    column_index = {header: index for index, header in enumerate(headers)}
    merge_columns = [column_index[h] for h in household_columns if h != "户编号"]
    result = LedgerFile(path)
    every = max(1, (expected_rows or 0) // bad_rows) if bad_rows else 0
    next_bad = every
    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": not shared_strings})
    try:
        sheet = workbook.add_worksheet("花名册" if kind == "dibao" else "建档立卡")
        label = "农村牧区低保对象花名册" if kind == "dibao" else "建档立卡贫困人口明细"
        sheet.write_string(0, 0, title or f"土默特左旗{label}")
        sheet.write_string(1, 0, "填报单位：旗民政局　　填报日期：2026年6月30日")
        for index, header in enumerate(headers):
            sheet.write_string(2, index, header)
        row = 3  # zero-based: spreadsheet row 4 is the first data row
        for household in source:
            first_row = row
            for position, member in enumerate(household.members):
                cells = cells_of(household, member)
                cells["序号"] = str(result.persons + 1)
                if household_cells != "repeat" and position > 0:
                    for header in household_columns:
                        if header != "户编号":
                            cells[header] = ""
                if (
                    every
                    and kind == "dibao"
                    and position == 0
                    and len(result.bad) < bad_rows
                    and result.rows + 1 >= next_bad
                ):
                    next_bad += every
                    column, value, code = DIBAO_BAD_VALUES[len(result.bad) % len(DIBAO_BAD_VALUES)]
                    cells[column] = _wrong_check_digit(member.id_number) if value is None else value
                    result.bad.append((row + 1, column, code))
                for header, value in cells.items():
                    if value != "":
                        sheet.write_string(row, column_index[header], value)
                row += 1
                result.rows += 1
                result.persons += 1
            if household_cells == "merge" and row - first_row > 1:
                # xlsxwriter's merge_range keeps a dict entry per merged cell; registering the
                # range directly keeps the writer's memory flat (the value is in the first cell).
                for index in merge_columns:
                    sheet.merge.append([first_row, index, row - 1, index])
            result.households += 1
    finally:
        workbook.close()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="生成基准测试用的花名册/建档立卡台账 .xlsx")
    parser.add_argument("kind", choices=["dibao", "poverty"])
    parser.add_argument("file")
    parser.add_argument("--persons", type=int, default=100_000)
    parser.add_argument("--county", default=DEFAULT_COUNTY)
    parser.add_argument("--household-cells", default="repeat", choices=["repeat", "head", "merge"])
    parser.add_argument("--bad-rows", type=int, default=0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--shared-strings", action="store_true", help="像 Excel 一样使用共享字符串表"
    )
    args = parser.parse_args(argv)
    ledger = write_ledger(
        args.file,
        households(args.county, persons=args.persons, seed=args.seed),
        kind=args.kind,
        household_cells=args.household_cells,
        bad_rows=args.bad_rows,
        expected_rows=args.persons,
        shared_strings=args.shared_strings,
    )
    print(
        f"{ledger.path}: {ledger.rows} rows, {ledger.households} households, "
        f"{len(ledger.bad)} bad rows"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
