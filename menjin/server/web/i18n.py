"""The console's words in Simplified Chinese (the default) and English.

One catalogue, `{key: (zh, en)}`, so a missing translation is a missing key a test can find, never a
page half in one language. Enum labels are keyed `ClassName.value`, so every closed set of values the
register knows (roles, gate kinds, directions, modes) is named the same way everywhere.
"""

from __future__ import annotations

from enum import StrEnum

from menjin.domain.register import (
    AccountRole,
    CredentialKind,
    CredentialStatus,
    Direction,
    GateKind,
    GateMode,
    PersonRole,
)

LANGS = ("zh", "en")
DEFAULT = "zh"
HTML_LANG = {"zh": "zh-CN", "en": "en"}

CATALOGUE: dict[str, tuple[str, str]] = {
    # shell
    "app.name": ("门禁管理", "Access control"),
    "lang.other": ("English", "中文"),
    "lang.other.name": ("切换到英文", "Switch to Chinese"),
    "nav.label": ("主菜单", "Main menu"),
    "nav.skip": ("跳到主要内容", "Skip to main content"),
    "nav.home": ("首页", "Home"),
    "nav.buildings": ("楼栋", "Buildings"),
    "nav.units": ("房屋", "Units"),
    "nav.residents": ("住户", "Residents"),
    "nav.gates": ("门禁点", "Gates"),
    "nav.import": ("批量导入", "Import"),
    "nav.live": ("门禁实况", "Live gates"),
    "live.title": ("门禁实况", "Live gates"),
    "live.online": ("在线", "online"),
    "live.offline": ("离线", "offline"),
    "live.door_open": ("门开着", "door open"),
    "live.door_closed": ("门关着", "door closed"),
    "live.unlocked": ("已开锁", "unlocked"),
    "live.locked": ("已上锁", "locked"),
    "live.last_seen": ("最近心跳", "Last heartbeat"),
    "live.outbox": ("待上传事件", "Events waiting to upload"),
    "live.alarms": ("报警", "Alarms"),
    "live.events": ("实时事件", "Live events"),
    "live.no_events": ("暂无事件", "No events yet"),
    "live.granted": ("放行", "let in"),
    "live.denied": ("拒绝", "refused"),
    "live.unlock": ("远程开门一次", "Unlock once"),
    "live.reason": ("原因（必填，会记录在审计日志中）", "Reason (required, kept in the audit log)"),
    "live.sim": ("演示：模拟门口发生的事", "Demo: act out what happens at a gate"),
    "live.sim.gate": ("门禁", "Gate"),
    "live.sim.card": ("住户刷卡", "A resident's card"),
    "live.sim.stranger": ("陌生卡", "An unknown card"),
    "live.sim.face": ("住户刷脸（已同意）", "A resident's face (consented)"),
    "live.sim.photo": ("有人举着住户的照片", "Someone holds up a resident's photo"),
    "live.sim.prop": ("用雪把门撑开", "Prop the door open with snow"),
    "live.sim.close": ("关门", "Close the door"),
    "live.sim.fire": ("火警", "Fire alarm"),
    "live.sim.reset": ("消防复位", "Reset after the fire"),
    "live.no_link": ("门禁链路未启动", "The gate link is not running"),
    "live.no_sim": ("没有这个模拟门禁", "No such simulated gate"),
    "nav.password": ("修改密码", "Change password"),
    "nav.logout": ("退出登录", "Log out"),
    "nav.signed_in": ("当前账号：{name}（{role}）", "Signed in as {name} ({role})"),
    # login and password
    "login.title": ("登录", "Log in"),
    "login.intro": (
        "请输入物业发给您的用户名和密码。",
        "Enter the username and password the office gave you.",
    ),
    "login.username": ("用户名", "Username"),
    "login.password": ("密码", "Password"),
    "login.submit": ("登录", "Log in"),
    "password.title": ("修改密码", "Change password"),
    "password.forced": (
        "为了安全，请先把初始密码改成只有您知道的新密码。",
        "For your safety, first replace the one-time password with one only you know.",
    ),
    "password.intro": ("新密码至少 10 位。", "The new password needs at least 10 characters."),
    "password.old": ("原密码", "Current password"),
    "password.new": ("新密码", "New password"),
    "password.confirm": ("再次输入新密码", "New password again"),
    "password.mismatch": ("两次输入的新密码不一致", "the two new passwords differ"),
    "password.submit": ("保存新密码", "Save new password"),
    # home
    "home.title": ("首页", "Home"),
    "home.greeting": ("{name}，您好", "Hello, {name}"),
    # generic list and form
    "list.total": ("共 {total} 条", "{total} in all"),
    "list.empty": ("暂无记录", "Nothing here yet"),
    "list.filter": ("筛选", "Filter"),
    "list.all": ("全部", "All"),
    "list.pages": ("翻页", "Pages"),
    "list.page": ("第 {page} 页，共 {pages} 页", "Page {page} of {pages}"),
    "list.prev": ("上一页", "Previous page"),
    "list.next": ("下一页", "Next page"),
    "form.add": ("添加", "Add"),
    "form.saved": ("已保存", "Saved"),
    "form.fix": ("请修改下面标出的内容", "Please correct the marked fields"),
    "form.required": ("此项必填", "this field is required"),
    "form.invalid": ("请检查此项的格式或长度", "check the format or length of this field"),
    "form.optional": ("（选填）", "(optional)"),
    "form.choose": ("请选择", "Choose"),
    "form.none": ("无", "None"),
    "form.no_choices": ("暂无可选项", "nothing to choose yet"),
    "yes": ("是", "yes"),
    "no": ("否", "no"),
    # register pages
    "buildings.title": ("楼栋", "Buildings"),
    "buildings.add": ("添加楼栋", "Add a building"),
    "units.title": ("房屋", "Units"),
    "units.add": ("添加房屋", "Add a unit"),
    "residents.title": ("住户与人员", "Residents and people"),
    "residents.add": ("添加住户", "Add a resident"),
    "gates.title": ("门禁点", "Gates"),
    "gates.add": ("添加门禁点", "Add a gate"),
    "field.building_name": ("楼栋名称", "Building name"),
    "field.floors": ("楼层数", "Floors"),
    "field.notes": ("备注", "Notes"),
    "field.building": ("楼栋", "Building"),
    "field.entrance": ("单元", "Entrance"),
    "field.room": ("房号", "Room"),
    "field.floor": ("所在楼层", "Floor"),
    "field.unit": ("房屋", "Unit"),
    "field.name": ("姓名", "Name"),
    "field.role": ("身份", "Role"),
    "field.phone": ("手机号", "Phone"),
    "field.search": ("姓名或房号", "Name or room"),
    "field.code": ("编号", "Code"),
    "field.gate_name": ("名称", "Name"),
    "field.kind": ("类型", "Kind"),
    "field.direction": ("方向", "Direction"),
    "field.escape_route": ("疏散通道", "Escape route"),
    "field.mode": ("模式", "Mode"),
    "field.buildings": ("服务楼栋", "Buildings served"),
    "field.credential": ("凭证", "Credential"),
    "field.status": ("状态", "Status"),
    # a resident's own household
    "household.title": ("我的家", "My household"),
    "household.unit": ("房屋：{unit}", "Unit: {unit}"),
    "household.members": ("家庭成员", "Household members"),
    "household.credentials": ("通行凭证", "Ways in"),
    "household.unlinked": (
        "您的账号还没有关联房屋。如有疑问，请联系物业管理处。",
        "Your account is not linked to a unit yet. Please ask the management office.",
    ),
    # bulk import
    "import.title": ("批量导入", "Import"),
    "import.intro": (
        "上传填好的表格（Excel .xlsx 或 CSV）。建议先勾选“只检查”，没有问题再正式导入。",
        "Upload a filled-in spreadsheet (Excel .xlsx or CSV). Check it first, then import for real.",
    ),
    "import.sample": ("下载示例表格", "Download the sample spreadsheet"),
    "import.file": ("表格文件", "Spreadsheet file"),
    "import.dry_run": ("只检查，不保存", "Only check, do not save"),
    "import.submit": ("上传", "Upload"),
    "import.checked": ("检查通过，没有保存任何数据。", "The file is fine; nothing was saved."),
    "import.done": ("导入成功。", "Imported."),
    "import.failed": (
        "发现 {count} 处问题，没有导入任何数据。",
        "{count} problems found; nothing was imported.",
    ),
    "import.what": ("类别", "What"),
    "import.created": ("新增数量", "Created"),
    "import.would_create": ("将新增", "Would create"),
    "import.created.buildings": ("楼栋", "Buildings"),
    "import.created.units": ("房屋", "Units"),
    "import.created.people": ("人员", "People"),
    "import.created.credentials": ("凭证", "Credentials"),
    "import.row": ("行", "Row"),
    "import.column": ("列", "Column"),
    "import.problem": ("问题", "Problem"),
    "import.no_file": ("请选择要上传的文件", "choose a file to upload"),
    # refusals
    "error.title": ("无法打开此页面", "This page cannot be shown"),
    "error.forbidden": (
        "您的账号不能使用此页面。如需帮助，请联系物业管理处。",
        "Your account may not use this page. Please ask the management office if you need it.",
    ),
    "error.cross_site": (
        "这个请求不是从本系统的页面发出的，已拒绝。请回到本系统重新操作。",
        "This request did not come from a page of this site and was refused. Please try again from here.",
    ),
    "error.home": ("返回首页", "Back to the home page"),
    # enum labels
    "PersonRole.owner": ("业主", "Owner"),
    "PersonRole.tenant": ("租户", "Tenant"),
    "PersonRole.family": ("家属", "Family member"),
    "PersonRole.staff": ("物业员工", "Staff"),
    "PersonRole.contractor": ("外包人员", "Contractor"),
    "GateKind.pedestrian": ("人行门", "Pedestrian gate"),
    "GateKind.vehicle": ("车行道闸", "Vehicle barrier"),
    "GateKind.ebike": ("电动车通道", "E-bike lane"),
    "Direction.in": ("进", "In"),
    "Direction.out": ("出", "Out"),
    "Direction.both": ("双向", "Both ways"),
    "GateMode.normal": ("正常", "Normal"),
    "GateMode.degraded": ("降级", "Degraded"),
    "GateMode.evacuation": ("疏散", "Evacuation"),
    "GateMode.lockdown": ("封闭", "Lockdown"),
    "GateMode.maintenance": ("维护", "Maintenance"),
    "CredentialKind.card": ("门禁卡", "Card"),
    "CredentialKind.pin": ("密码", "PIN"),
    "CredentialKind.qr": ("二维码", "QR code"),
    "CredentialKind.face": ("人脸", "Face"),
    "CredentialKind.plate": ("车牌", "Number plate"),
    "CredentialKind.ebike_tag": ("电动车标签", "E-bike tag"),
    "CredentialStatus.active": ("有效", "Active"),
    "CredentialStatus.suspended": ("已暂停", "Suspended"),
    "CredentialStatus.lost": ("已挂失", "Reported lost"),
    "CredentialStatus.revoked": ("已注销", "Revoked"),
    "AccountRole.admin": ("管理员", "Administrator"),
    "AccountRole.guard": ("保安", "Guard"),
    "AccountRole.resident": ("住户", "Resident"),
    "AccountRole.contractor": ("外包人员", "Contractor"),
    "AccountRole.auditor": ("审计员", "Auditor"),
}

LABELLED_ENUMS: tuple[type[StrEnum], ...] = (
    PersonRole,
    GateKind,
    Direction,
    GateMode,
    CredentialKind,
    CredentialStatus,
    AccountRole,
)


def pick(zh: str, en: str, lang: str) -> str:
    """One of a pair already in both languages (a RegisterError, a LoginRefused)."""
    return en if lang == "en" else zh


def t(key: str, lang: str, **values: object) -> str:
    """The text for `key`; an unknown key shows itself rather than breaking the page (a test finds it)."""
    pair = CATALOGUE.get(key)
    text = pick(*pair, lang) if pair else key
    return text.format(**values) if values else text


def label(member: StrEnum, lang: str) -> str:
    return t(f"{type(member).__name__}.{member.value}", lang)


def choices(enum: type[StrEnum], lang: str) -> list[tuple[str, str]]:
    """(value, label) pairs for a select, in the enum's own order."""
    return [(member.value, label(member, lang)) for member in enum]
