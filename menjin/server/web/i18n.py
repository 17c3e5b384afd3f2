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
    # gate notice (公示牌)
    "notice.title": ("门禁公示牌", "Gate notice"),
    "notice.column": ("公示牌", "Notice"),
    "notice.gate": ("门禁点：{name}（{code}）", "Gate: {name} ({code})"),
    "notice.from_register": (
        "本公示由门禁登记信息自动生成，登记变更后随即更新（登记版本 {version}）",
        "Generated from the access register; it changes as soon as the register does (version {version})",
    ),
    "notice.who": ("谁在运营、谁负责", "Who runs this gate"),
    "notice.operator": ("运营方（物业公司）", "Operator (property company)"),
    "notice.controller": ("个人信息处理者", "Data controller"),
    "notice.contractor": ("技术服务商", "Technical contractor"),
    "notice.maintenance": ("维修电话", "Maintenance"),
    "notice.guard": ("值班保安电话", "Guard on duty"),
    "notice.privacy_contact": ("个人信息联系人", "Privacy contact"),
    "notice.address": ("地址", "Address"),
    "notice.unset": ("未填写，请联系物业", "not set: ask the office"),
    "notice.emergency": ("紧急电话", "Emergency"),
    "notice.police": ("报警", "Police"),
    "notice.fire": ("火警", "Fire"),
    "notice.ambulance": ("急救", "Ambulance"),
    "notice.ways": ("本门通行方式", "Ways in at this gate"),
    "notice.mode": ("通行要求", "What you need"),
    "notice.mode.any": ("任选一种即可", "any one of them"),
    "notice.mode.card+pin": ("刷卡并输入密码", "card and PIN"),
    "notice.mode.face+card": (
        "人脸加门禁卡；不用人脸时，任选两种其他方式",
        "face and card; without face, any two of the other ways",
    ),
    "notice.mode.face+pin": (
        "人脸加密码；不用人脸时，任选两种其他方式",
        "face and PIN; without face, any two of the other ways",
    ),
    "notice.rule": ("“{schedule}”时段：", "During “{schedule}”: "),
    "notice.otherwise": ("其他时间：", "Otherwise: "),
    "notice.face.where": ("人脸数据存放在哪里", "Where face data is kept"),
    "notice.face.where.text": (
        "只存放在本小区的门禁设备和本小区的服务器上，存的是加密的人脸特征，不存照片；绝不发送到其他地方。",
        "Only on this community's gate devices and its server, as encrypted templates, never photos; "
        "never sent anywhere else.",
    ),
    "notice.face.how_long": ("保存多久", "How long it is kept"),
    "notice.face.how_long.text": (
        "保存到您撤回同意为止。撤回后，服务器和各门禁设备上的人脸数据即被删除，并出具删除回执。"
        "搬离小区时请到物业办理撤回，仅搬离不会自动删除。",
        "Until you withdraw your consent: it is then erased from the server and every gate, with a "
        "deletion receipt. When you move out, withdraw at the office: moving out alone does not erase it.",
    ),
    "notice.face.decline": ("不想用人脸？", "Prefer not to use face?"),
    "notice.face.decline.text": (
        "人脸识别是自愿的：可以不登记，已登记的也可随时到物业撤回同意。本门可以改用：{ways}",
        "Face is optional: you need not enrol, and you may withdraw consent at the office at any time. "
        "At this gate you can use instead: {ways}",
    ),
    "notice.face.none": ("本门不使用人脸识别。", "This gate does not use face recognition."),
    "notice.fault": ("门禁故障报修", "Report a fault"),
    "notice.fault.text": (
        "门打不开或设备故障，请拨打维修电话或值班保安电话。",
        "If the gate will not open or is faulty, call maintenance or the guard on duty.",
    ),
    "notice.qr.fault": ("扫码报修", "Scan to report a fault"),
    "notice.qr.privacy": ("扫码阅读隐私说明", "Scan to read the privacy notice"),
    "notice.print.pdf": ("打印版（A4 PDF）", "Print (A4 PDF)"),
    "notice.print.png": ("图片（PNG）", "Picture (PNG)"),
    "notice.privacy": ("隐私说明", "Privacy notice"),
    "notice.missing": ("找不到这个公示页面", "No such notice"),
    "notice.missing.text": (
        "没有“{what}”这个小区或门禁点，请核对门口二维码或链接，或联系物业。",
        "There is no community or gate “{what}”: check the QR code or link, or ask the office.",
    ),
    "privacy.title": ("人脸识别与个人信息说明", "Privacy notice: face recognition and personal data"),
    "privacy.purpose": ("用途", "Purpose"),
    "privacy.purpose.text": (
        "人脸只用于在本小区门禁处确认您是登记的住户或人员，不用于其他目的。人脸是自愿的，"
        "不登记人脸照样可以刷卡、输入密码或使用二维码通行。",
        "Face is used only to confirm at this community's gates that you are a registered person, for "
        "nothing else. It is optional: without it you still get in by card, PIN or QR pass.",
    ),
    "privacy.what": ("保存什么", "What is kept"),
    "privacy.what.text": (
        "您的同意记录（谁同意、何时、如何）和由照片算出的加密人脸特征；照片算完即丢弃，不保存。",
        "Your consent record (who, when, how) and encrypted templates computed from your photos; the "
        "photos are dropped once the templates are made.",
    ),
    "privacy.gates": ("使用人脸的门禁点", "Gates that use face"),
    "privacy.gates.none": ("目前没有", "none at present"),
    "privacy.withdraw": ("如何撤回同意", "How to withdraw consent"),
    "privacy.withdraw.text": (
        "到物业管理处说明撤回人脸同意（或先致电联系人），工作人员当场办理。服务器和各门禁设备上的人脸数据"
        "随即删除，您会拿到列明每个删除位置和时间的回执。撤回后仍可刷卡、输入密码或使用二维码通行。",
        "Tell the management office (or call the contact first) that you withdraw face consent; staff do it "
        "on the spot. Your face data is then erased from the server and every gate, and you get a receipt "
        "listing each place and when it was erased. You can still use card, PIN or QR pass.",
    ),
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
    # resident portal
    "invite.title": ("首次登录：输入邀请码", "First sign-in: invitation code"),
    "invite.intro": (
        "请输入物业给您的邀请码，再自己定一个用户名和密码（至少 10 位）。以后用这个用户名和密码登录。",
        "Type the code the property office gave you, then choose a username and a password (at least"
        " 10 characters). From then on, sign in with them.",
    ),
    "invite.code": ("邀请码", "Invitation code"),
    "invite.username": ("用户名（例如手机号）", "Username (your phone number works)"),
    "invite.submit": ("开通并登录", "Open my account"),
    "invite.link": ("第一次使用？输入物业给的邀请码", "First time? Use the office's invitation code"),
    "invitation.title": ("住户邀请码", "Resident invitation code"),
    "invitation.intro": (
        "住户用邀请码自己开通账号，只能看到自己家的信息。"
        "邀请码 14 天内有效，只能用一次；再发一次，旧的作废。",
        "The resident opens their own account with the code and sees only their household. The code works"
        " once, for 14 days; issuing another cancels the old one.",
    ),
    "invitation.issue": ("发放邀请码", "Issue an invitation code"),
    "invitation.column": ("住户账号", "Portal account"),
    "invitation.once": (
        "邀请码只显示这一次，请现在抄给住户或打印。",
        "This code is shown only now: give it to the resident now.",
    ),
    "invitation.expires": ("有效期至 {date}", "Valid until {date}"),
    "invitation.how": (
        "请住户在手机上打开本系统的「首次登录」页面（/invite）输入。",
        "The resident opens the first sign-in page (/invite) on their phone and types it in.",
    ),
    "household.none": ("未开通", "not set up"),
    "household.way": ("方式", "Way in"),
    "household.has": ("情况", "Status"),
    "pin.title": ("设置我的开门密码", "Set my door PIN"),
    "pin.intro": (
        "在门口键盘上输入的数字密码，4 到 8 位。不要用 1234、0000 这样容易被猜到的数字。",
        "The number you type at the gate's keypad: 4 to 8 digits. Avoid easy ones like 1234 or 0000.",
    ),
    "pin.new": ("新的开门密码", "New PIN"),
    "pin.confirm": ("再输入一次", "The same PIN again"),
    "pin.mismatch": ("两次输入的密码不一致", "the two PINs differ"),
    "pin.submit": ("保存密码", "Save PIN"),
    "pin.saved": ("开门密码已保存，几分钟内各门口生效。", "PIN saved: the gates take it within minutes."),
    "pass.title": ("我的二维码通行证", "My QR pass"),
    "pass.intro": (
        "把手机屏幕对准门口的扫码器。二维码每 30 秒自动更新，截图过一会儿就失效。",
        "Hold your phone's screen to the gate's reader. The code renews itself every 30 seconds;"
        " a screenshot stops working soon after.",
    ),
    "pass.alt": ("我的通行二维码", "My pass QR code"),
    "pass.fresh": ("页面会自动刷新。", "This page refreshes itself."),
    "pass.again": ("立即换一个新码", "New code now"),
    "pass.none": (
        "您还没有二维码通行证。开通后，用手机就能开门。",
        "You have no QR pass yet. Once it is on, your phone opens the gate.",
    ),
    "pass.open": ("开通二维码通行证", "Turn on my QR pass"),
    "face.title": ("人脸识别开门", "Face recognition at the gates"),
    "face.intro": (
        "用不用刷脸开门，由您自己决定。不用也完全没关系，门禁卡、密码、二维码照常能开门。",
        "Whether to open gates with your face is your own choice. Saying no is fine: card, PIN and QR"
        " pass keep working.",
    ),
    "face.for_child": ("（您是监护人）", "(you are the guardian)"),
    "face.manage": ("查看和办理", "View and choose"),
    "face.state": ("现在的情况", "Now"),
    "face.state.none": ("还没有选择，未开通", "No choice made yet: not set up"),
    "face.state.consented": ("已同意，还没有上传照片", "Agreed: photos not uploaded yet"),
    "face.state.enrolled": ("已开通（{day} 登记）", "Set up (enrolled on {day})"),
    "face.state.declined": ("已选择不使用（{day}）", "Declined ({day})"),
    "face.state.withdrawn": ("已撤回同意，数据已删除（{day}）", "Consent withdrawn, data erased ({day})"),
    "face.choose": ("您可以这样选", "Your choices"),
    "face.agree": ("阅读说明，同意使用", "Read the details and agree"),
    "face.decline": ("不使用人脸识别", "No face recognition"),
    "face.back": ("返回，先不决定", "Back, decide later"),
    "face.decline.hint": (
        "选择不使用，其他开门方式照常使用，以后也可以随时改变主意。",
        "If you decline, every other way in keeps working, and you may change your mind later.",
    ),
    "face.photos": ("上传照片", "Upload photos"),
    "face.photos.intro": (
        "请拍 {min} 到 {max} 张正面照片：光线明亮，只有本人，不戴帽子和墨镜。"
        "照片只用来生成模板，用完就丢弃。",
        "Take {min} to {max} photos facing the camera: good light, only you, no hat or sunglasses. The"
        " photos only make the templates and are then discarded.",
    ),
    "face.photos.plain": ("正面照片（{min}–{max} 张）", "Face photos ({min} to {max})"),
    "face.photos.covered": (
        "戴口罩或围巾的照片（可不传）",
        "A photo with a mask or scarf (optional)",
    ),
    "face.photos.submit": ("上传并开通", "Upload and set up"),
    "face.photos.saved": ("已开通，几分钟内各门口生效。", "Set up: the gates take it within minutes."),
    "face.photos.refused": (
        "可用的照片不足 {needed} 张，没有保存任何数据。请按下面的原因重拍。",
        "Fewer than {needed} photos were usable; nothing was stored. Retake them as said below.",
    ),
    "face.photos.number": ("第 {n} 张", "Photo {n}"),
    "face.photos.covered_one": ("遮挡照片", "Covered photo"),
    "face.withdraw": ("撤回同意并删除数据", "Withdraw consent and erase the data"),
    "face.withdraw.hint": (
        "撤回后人脸数据立即从服务器删除，各门禁设备下次同步时删除，您会看到一张删除凭证。",
        "The face data is erased from the server at once and from each gate at its next sync; you get"
        " a deletion receipt.",
    ),
    "face.relation": ("您和孩子的关系", "Your relation to the child"),
    "face.relation.parent": ("父母", "Parent"),
    "face.relation.grandparent": ("祖父母、外祖父母", "Grandparent"),
    "face.relation.other": ("其他监护人", "Other guardian"),
    "face.consent.title": ("人脸识别单独同意书", "Separate consent to face recognition"),
    "face.consent.for": ("为 {name} 办理", "For {name}"),
    "face.consent.child": (
        "{name} 未满 14 周岁，须由监护人同意，由您代为选择。",
        "{name} is under 14, so a guardian consents: you choose for them.",
    ),
    "face.consent.purpose": (
        "用途：只用来开本小区的门禁，不做别的用途。",
        "Purpose: only to open this community's gates, for nothing else.",
    ),
    "face.consent.method": (
        "方式：用您上传的照片生成人脸模板（一组数字），照片用完立即丢弃，不保存。",
        "Method: templates (a set of numbers) are made from the photos you upload; the photos are"
        " discarded at once, never kept.",
    ),
    "face.consent.where": (
        "存放在哪里：只存放在本小区的门禁设备和服务器上，加密保存，从不发送到其他地方。",
        "Where: only on this community's gate devices and server, encrypted, and never sent anywhere else.",
    ),
    "face.consent.retention": (
        "保存多久：保存到撤回同意为止。搬离小区时请撤回（在本页或到物业），数据随即删除。",
        "How long: until consent is withdrawn. When moving out, withdraw it (on this page or at the"
        " office) and the data is erased.",
    ),
    "face.consent.operator": ("负责方：{name}，电话 {phone}", "Responsible: {name}, phone {phone}"),
    "face.consent.controller": ("个人信息处理者：{name}", "Data controller: {name}"),
    "face.consent.privacy": ("个人信息联系人：{contact}", "Privacy contact: {contact}"),
    "face.consent.withdraw": (
        "如何撤回：随时在本页面撤回，或到物业办公室办理。撤回后数据删除，并给您删除凭证。",
        "How to withdraw: any time on this page, or at the office. The data is then erased and you"
        " get a deletion receipt.",
    ),
    "face.consent.decline": (
        "不同意也没关系：门禁卡、开门密码、二维码通行证等其他开门方式照常使用，不受任何影响。",
        "Declining costs nothing: card, PIN, QR pass and the other ways in keep working exactly as before.",
    ),
    "face.consent.version": ("同意书版本：{version}", "Consent text version: {version}"),
    "face.consent.agree": ("我已阅读并同意以上内容", "I have read and agree to the above"),
    "face.consent.submit": ("同意", "Agree"),
    "face.consent.untick": ("请先勾选“我已阅读并同意”", "Tick “I have read and agree” first"),
    "face.receipt.title": ("人脸数据删除凭证", "Face data deletion receipt"),
    "face.receipt.intro": (
        "{name} 的人脸数据已删除，同意已撤回（{made}）。下面是每个存放地点和删除时间。",
        "{name}'s face data was erased and the consent withdrawn ({made}). Each place and when it was"
        " erased:",
    ),
    "face.receipt.place": ("存放地点", "Place"),
    "face.receipt.erased": ("删除时间", "Erased"),
    "face.receipt.pending": ("正在删除", "pending"),
    "face.receipt.gate_pending": ("等待该门禁确认删除", "pending until the gate confirms"),
    "face.receipt.number": ("凭证编号：{id}", "Receipt number: {id}"),
    # guest passes (couriers, visitors, workers)
    "nav.passes": ("通行证", "Passes"),
    "passes.title": ("快递和访客通行证", "Passes for couriers and visitors"),
    "passes.intro": (
        "给快递员、外卖员或来访的亲友发一个临时密码或二维码：只能在您选的门、您定的时间里用，用几次由您定，随时可以撤销。",
        "Give a courier or a visitor a temporary PIN or QR code: it opens only the gates you choose, only in "
        "the time you set, as often as you allow, and you can revoke it at any time.",
    ),
    "passes.new": ("发一个新的通行证", "Issue a new pass"),
    "passes.purpose": ("给谁用", "Who is it for"),
    "passes.purpose.courier": ("快递", "Courier"),
    "passes.purpose.visitor": ("访客", "Visitor"),
    "passes.purpose.service": ("维修保洁", "Repairs or cleaning"),
    "passes.label": ("备注（可不填）", "Note (optional)"),
    "passes.label_hint": ("如：顺丰、外卖、王阿姨", "e.g. SF Express, food delivery, Aunt Wang"),
    "passes.kind": ("用什么开门", "How they open the gate"),
    "passes.kind.qr": ("二维码", "QR code"),
    "passes.kind.pin": ("密码", "PIN"),
    "passes.start": ("从什么时候开始", "Starts at"),
    "passes.hours": ("能用多久", "Lasts for"),
    "passes.hours_n": ("{n} 小时", "{n} hours"),
    "passes.uses": ("每个门最多开几次", "Opens each gate at most (times)"),
    "passes.gates": ("可以开的门", "Gates it opens"),
    "passes.issue": ("发放", "Issue"),
    "passes.mine": ("已发的通行证", "Passes issued"),
    "passes.none": ("还没有发过通行证。", "No passes yet."),
    "passes.state.active": ("可以使用", "Valid now"),
    "passes.state.upcoming": ("尚未开始", "Not started yet"),
    "passes.state.ended": ("已过期", "Ended"),
    "passes.state.revoked": ("已撤销", "Revoked"),
    "passes.used": ("已用 {used} / {max} 次", "used {used} of {max}"),
    "passes.share": ("分享", "Share"),
    "passes.send": ("发给对方", "Send it"),
    "passes.copy_hint": (
        "复制下面的文字发给对方，或发送链接、图片。拿到的人都能开门，请只发给要来的人。",
        "Copy the words below, or send the link or the picture. Whoever has it can open the gate: send it "
        "only to the person who is coming.",
    ),
    "passes.link": ("打开分享链接", "Open the share link"),
    "passes.picture": ("下载图片", "Download the picture"),
    "passes.revoke": ("撤销", "Revoke"),
    "passes.bad_form": ("请检查填写的内容", "Please check what you entered"),
    "passes.qr_alt": ("通行二维码，在门禁扫码处出示", "QR pass: show it at the gate's scanner"),
    "passes.message": (
        "【{community}】{label}通行证：{code}\n时间：{window}\n可开：{gates}（每个门 {uses} 次）",
        "[{community}] {label} pass: {code}\nWhen: {window}\nOpens: {gates} ({uses} times each)",
    ),
    "passes.card.title": ("通行证", "Pass"),
    "passes.card.pin": ("在门禁键盘上输入：", "Type at the gate's keypad:"),
    "passes.card.qr": ("把二维码对准门禁扫码处：", "Hold the QR code to the gate's scanner:"),
    "passes.card.when": ("可用时间", "Valid"),
    "passes.card.left": ("还可用 {n} 次", "{n} uses left"),
    "passes.card.ended": ("此通行证已失效", "This pass is no longer valid"),
    "passes.card.unknown": (
        "找不到这个通行证，请向发给您的人确认",
        "No such pass: ask whoever sent it to you",
    ),
    "passes.card.help": ("打不开门？请联系物业 {phone}", "Gate will not open? Call the office {phone}"),
    # visitors at a gate asking a household to let them in
    "visit.title": ("请住户开门", "Ask a household to let you in"),
    "visit.at": ("{community} · {gate}", "{community} · {gate}"),
    "visit.intro": (
        "填写要拜访的房屋和您的称呼，住户会在手机上看到并为您开门。请在门口稍候。",
        "Type the unit you are visiting and who you are. The household sees it on their phone and can "
        "open the gate for you. Please wait at the gate.",
    ),
    "visit.unit": (
        "要拜访的房屋（楼-单元-房号，例如 3-2-302）",
        "Unit you visit (building-entrance-room, e.g. 3-2-302)",
    ),
    "visit.visitor": ("您的称呼（例如：快递、李阿姨）", "Who you are (e.g. courier, Mrs Li)"),
    "visit.purpose": ("来意", "Purpose of the visit"),
    "visit.submit": ("请住户开门", "Ask them to let me in"),
    "visit.no_gate": (
        "找不到这个门禁，请核对门上的二维码或联系保安。",
        "There is no such gate here. Check the code on the gate or call the guard.",
    ),
    "visit.no_request": (
        "找不到这条请求，链接可能有误。请回到门口重新呼叫。",
        "This request was not found: the link may be wrong. Please ask again at the gate.",
    ),
    "visit.status.title": ("等待住户开门", "Waiting to be let in"),
    "visit.status.who": ("访客：{visitor}", "Visitor: {visitor}"),
    "visit.status.pending": (
        "已通知住户，正在等待答复……",
        "The household has been asked: waiting for their answer…",
    ),
    "visit.status.refresh": (
        "请在门口稍候，本页会自动刷新。",
        "Please wait at the gate: this page refreshes itself.",
    ),
    "visit.status.approved": ("门已打开，请进", "The gate is open: please come in"),
    "visit.status.declined": ("住户没有同意开门", "The household did not let you in"),
    "visit.status.expired": (
        "住户没有及时答复，请求已过期",
        "There was no answer in time: the request has expired",
    ),
    "visit.again": ("重新呼叫", "Ask again"),
    "visit.problem.title": ("无法办理", "This cannot be done"),
    "visits.title": ("访客开门", "Visitors at the gate"),
    "visits.waiting": ("{time} 在{gate}等候", "waiting at {gate} since {time}"),
    "visits.purpose": ("来意：{purpose}", "Purpose: {purpose}"),
    "visits.approve": ("开门", "Open the gate"),
    "visits.decline": ("拒绝", "Decline"),
    "visits.none": ("现在没有访客在等您开门。", "No visitor is waiting for you now."),
    "visits.refresh": ("本页每 5 秒自动刷新。", "This page refreshes itself every 5 seconds."),
    "visits.recent": ("最近的访客", "Recent visitors"),
    "visits.col.visitor": ("访客", "Visitor"),
    "visits.col.gate": ("门禁", "Gate"),
    "visits.col.time": ("时间", "Time"),
    "visits.col.answer": ("答复", "Answer"),
    "visits.approved": ("已开门", "Let in"),
    "visits.declined": ("已拒绝", "Declined"),
    "visits.expired": ("未答复，已过期", "Expired unanswered"),
    "visits.done.approved": ("已通知门禁开门一次。", "The gate has been told to open once."),
    "visits.done.declined": ("已拒绝这位访客。", "You declined this visitor."),
    "visits.back": ("返回访客开门", "Back to visitors"),
    # data rights: history, reads, download, corrections
    "rights.title": ("我的个人信息", "My data"),
    "rights.history.title": ("我的通行记录", "My access history"),
    "rights.history.intro": (
        "每次在门禁刷卡、输入密码、扫码或刷脸的结果，最新的在最前。"
        "用您发的访客通行证进门的，写成“快递 via 房号”。",
        "Each time a gate let you in or refused you, newest first. Entries made with a pass you gave"
        " read like “Courier via your unit”.",
    ),
    "rights.reads.title": ("谁查看了我的信息", "Who read my data"),
    "rights.reads.intro": (
        "物业和系统每次查看或修改您的信息都有记录：什么时间、谁、做了什么、为什么。您本人在这些页面上的查看不列出。",
        "Every time the office or the system read or changed your data is recorded: when, who, what and"
        " why. Your own looking at these pages is not listed.",
    ),
    "rights.whose": ("查看谁的信息", "Whose data"),
    "rights.col.time": ("时间", "When"),
    "rights.col.gate": ("门禁", "Gate"),
    "rights.col.method": ("方式", "Way in"),
    "rights.col.result": ("结果", "Result"),
    "rights.col.reason": ("原因", "Reason"),
    "rights.col.by": ("通行人", "Who"),
    "rights.col.actor": ("谁", "Who"),
    "rights.col.what": ("做了什么", "What"),
    "rights.col.why": ("为什么", "Why"),
    "rights.granted": ("已通过", "let in"),
    "rights.denied": ("未通过", "refused"),
    "rights.via": ("{label} via {unit}", "{label} via {unit}"),
    "rights.action.pass.issue": ("发放访客通行证", "issued a guest pass"),
    "rights.action.pass.revoke": ("收回访客通行证", "revoked a guest pass"),
    "rights.you": ("您本人", "you"),
    "rights.action.read": ("查看", "read"),
    "rights.action.create": ("登记", "added"),
    "rights.action.update": ("修改", "changed"),
    "rights.action.delete": ("删除", "deleted"),
    "rights.action.import": ("批量导入", "imported"),
    "rights.action.export": ("导出", "exported"),
    "rights.action.denied": ("想查看但被拒绝", "tried to read, refused"),
    "rights.action.consent": ("登记人脸识别同意", "recorded face consent"),
    "rights.action.decline": ("登记不用人脸识别", "recorded the choice not to use face"),
    "rights.action.enrol": ("采集人脸", "enrolled the face"),
    "rights.action.withdraw": ("撤回人脸识别同意", "withdrew face consent"),
    "rights.action.self_view": ("在本页查看", "looked here"),
    "rights.action.correction_request": ("提出更正申请", "asked for a correction"),
    "rights.action.correction_answer": ("答复更正申请", "answered a correction request"),
    "rights.action.invitation_issued": ("发放开通邀请码", "issued an invitation code"),
    "rights.action.invitation_redeemed": ("用邀请码开通账号", "opened an account with an invitation code"),
    "rights.download.csv": (
        "下载我的信息（表格，可用 Excel 打开）",
        "Download my data (table, opens in Excel)",
    ),
    "rights.download.json": ("下载我的信息（JSON）", "Download my data (JSON)"),
    "rights.refused": (
        "只能查看您本人或本户未满 14 周岁孩子的信息。这次查看没有显示任何信息，并已记录。",
        "You may only see your own data or a child's of your household under 14. Nothing was shown,"
        " and this attempt was logged.",
    ),
    "rights.unlinked": (
        "您的账号还没有关联住户，暂时没有可以查看的个人信息。请联系物业管理处。",
        "Your account is not linked to a resident, so there is no personal data to show. Please ask"
        " the management office.",
    ),
    "rights.corrections.title": ("更正我的信息", "Correct my data"),
    "rights.corrections.intro": (
        "姓名、电话、房屋或通行凭证等信息有误，请在这里告诉物业。物业处理后，答复会显示在这里。",
        "If your name, phone, unit or a way in is wrong, tell the office here. Their answer will be"
        " shown here.",
    ),
    "rights.corrections.new": ("提出更正申请", "Ask for a correction"),
    "rights.corrections.mine": ("我的更正申请", "My requests"),
    "rights.corrections.none": ("还没有更正申请", "No requests yet"),
    "rights.correction.subject": ("要更正什么", "What is wrong"),
    "rights.correction.text": (
        "哪里不对，应该是什么（最多 1000 字）",
        "What is wrong and what it should be (at most 1000 characters)",
    ),
    "rights.correction.submit": ("提交申请", "Send the request"),
    "rights.correction.saved": ("已提交，物业会尽快答复。", "Sent: the office will answer soon."),
    "rights.correction.asked": ("提交时间：{at}", "Sent {at}"),
    "rights.correction.answer": ("物业答复（{at}）：{answer}", "The office's answer ({at}): {answer}"),
    "rights.subject.name": ("姓名", "Name"),
    "rights.subject.phone": ("电话", "Phone"),
    "rights.subject.unit": ("房屋", "Unit"),
    "rights.subject.credential": ("通行凭证", "A way in"),
    "rights.subject.other": ("其他", "Something else"),
    "rights.status.open": ("等待物业处理", "waiting for the office"),
    "rights.status.done": ("已更正", "corrected"),
    "rights.status.refused": ("不予更正", "not corrected"),
    "rights.office.title": ("更正申请", "Correction requests"),
    "rights.office.intro": (
        "住户提出的信息更正申请，未处理的在最前。请先在住户登记中改正，再在这里答复；答复会显示给住户，只能答复一次。",
        "Residents' requests to correct their data, open ones first. Correct the register first, then"
        " answer here; the resident sees the answer, and a request is answered once.",
    ),
    "rights.office.who": ("{name}（{unit}）", "{name} ({unit})"),
    "rights.office.outcome": ("处理结果", "Outcome"),
    "rights.office.answer": ("给住户的答复", "Answer to the resident"),
    "rights.office.submit": ("答复", "Send the answer"),
    "rights.office.answered": ("{by} 于 {at} 答复", "Answered by {by}, {at}"),
    "rights.office.saved": ("已答复", "Answer sent"),
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
