"""The demo aggregator's articles, as plain data.

Everything here is invented local news from the fictional city of 澄湖. The articles are
fixed (ids, times, texts, images) so that a demo crawl produces the same posts every time
and tests can name the article they expect.

Each category is crawled through one shape of aggregator in the demo sources file (see
``DEMO_SHAPE``): 科技 and 财经 through the Qutoutiao-style list API, 生活 through an RSS 2.0
feed, 文旅 through an Atom feed, 体育 through an RSS feed encoded in GB18030, 社区 through a
summary-only feed whose pages hold the full text, 文化 through an HTML news list of two pages
and 健康 through a JSON API of its own shape whose pages are read by extraction. The server
answers every shape for every category; the plan only decides what the demo crawls, so
no article reaches the site twice.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

CHINA_TIME = timezone(timedelta(hours=8), "CST")


@dataclass(frozen=True)
class Category:
    cid: int
    slug: str
    name: str


@dataclass(frozen=True)
class Picture:
    """An image an article shows: which route serves it, and on which listener.

    ``route`` is ``img`` (plain), ``protected`` (needs the article page as Referer) or
    ``no-referer`` (refuses any Referer); ``secure`` puts it on the TLS listener.
    """

    name: str
    route: str = "img"
    secure: bool = False

    @property
    def path(self) -> str:
        return f"/{self.route}/{self.name}"


@dataclass(frozen=True)
class Article:
    slug: str
    title: str
    author: str
    published: int
    cid: int
    pictures: tuple[Picture, ...]
    paragraphs: tuple[str, ...]
    gif_placeholder: bool = False
    """The page's last ``src`` is a 1x1 GIF instead of the real URL (a lazy loader's stub)."""

    @property
    def id(self) -> str:
        """A stable 16-hex id, so post file names and links survive edits to the text."""
        return hashlib.sha1(self.slug.encode("utf-8")).hexdigest()[:16]

    @property
    def text(self) -> str:
        return "".join(self.paragraphs)


CATEGORIES = (
    Category(1, "tech", "科技"),
    Category(2, "money", "财经"),
    Category(3, "life", "生活"),
    Category(4, "travel", "文旅"),
    Category(5, "sports", "体育"),
    Category(6, "community", "社区"),
    Category(7, "culture", "文化"),
    Category(8, "health", "健康"),
)

DEMO_SHAPE = {1: "list", 2: "list", 3: "rss", 4: "atom", 5: "rss-gb", 6: "summary", 7: "html", 8: "json"}
"""How the demo sources file crawls each category (by cid): ``summary`` is an RSS feed of first
paragraphs whose pages hold the full text, ``html`` a paginated HTML news list, ``json`` a JSON
API of its own shape (not the Qutoutiao one)."""

PROMOTED = (7, "推广：澄湖文创市集摊位火热招租中", "https://ads.invalid/market")
"""An advertisement the ``html`` list shows among its news (cid, title, link): the demo's
block rule leaves it out."""


def _at(when: str) -> int:
    """Unix seconds for a wall-clock time in 澄湖 (UTC+8), written the way a newsroom would."""
    return int(datetime.strptime(when, "%Y-%m-%d %H:%M").replace(tzinfo=CHINA_TIME).timestamp())


def img(name: str) -> Picture:
    return Picture(name)


def protected(name: str) -> Picture:
    return Picture(name, route="protected")


def no_referer(name: str) -> Picture:
    return Picture(name, route="no-referer")


def secure(name: str) -> Picture:
    return Picture(name, secure=True)


def _article(slug, title, author, when, cid, pictures, *paragraphs, gif_placeholder=False):
    return Article(
        slug=slug,
        title=title,
        author=author,
        published=_at(when),
        cid=cid,
        pictures=tuple(pictures),
        paragraphs=paragraphs,
        gif_placeholder=gif_placeholder,
    )


ARTICLES = (
    # 科技 (cid 1)
    _article(
        "tech-bus-app", "澄湖 App 3.5 版上线，新增公交实时到站", "数码阿成", "2024-06-18 09:20", 1,
        [img("tram.jpg")],
        "澄湖市交通集团昨天发布了澄湖 App 3.5 版本。新版最受关注的功能是公交实时到站，乘客在站台打开 App 就能看到下一班车还有几站。",
        "开发团队介绍，车辆位置每 15 秒刷新一次，数据来自车载 GPS 终端。试运行期间，东岸区 12 条线路的误差基本控制在一分钟以内。",
        "不少市民反映旧版登录页面经常卡住。团队表示这次重写了登录流程，也可以直接用短信验证码登录。",
        gif_placeholder=True,
    ),
    _article(
        "tech-night-school", "程序员夜校开课，第一课讲 {JSON} 与接口", "东岸小记者", "2024-05-09 20:10", 1,
        [img("workshop.jpg"), img("library.jpg")],
        "新港区青年中心的“程序员夜校”本周二晚上正式开课，首批四十名学员大多是白天上班的年轻人。",
        "第一课的主题是 JSON 和 API。讲师用一份外卖订单做例子，讲一个请求怎样从手机发出、又怎样从服务器返回。",
        "夜校每周两次课，全部免费。课件放在青年中心的网站上，没报上名的市民也可以到教室后排旁听。",
    ),
    _article(
        "tech-book-robot", "图书馆来了还书机器人", "澄湖科技圈", "2024-04-02 10:00", 1,
        [protected("library.jpg")],
        "市图书馆一楼大厅这周多了一台还书机器人。读者把书放进窗口，机器人扫描 RFID 标签后自动分拣到对应书车。",
        "馆员说，过去每天闭馆后要花一个多小时整理还回来的书，现在半小时就能上架完毕。",
    ),
    _article(
        "tech-drone-medicine", "无人机送药试点：十分钟送到小区门口", "澄湖科技圈", "2024-07-23 15:45", 1,
        [secure("skyline.jpg"), img("harbor.jpg")],
        "东岸区三家药店与一家物流公司合作，开始试点无人机送药。居民在小程序下单后，药品由无人机送到小区门口的取货柜。",
        "试点范围暂时只覆盖药店周边三公里，处方药不在配送之列。物流公司称单程飞行一般不超过十分钟。",
        "有居民担心噪音问题。负责人回应说航线尽量避开学校和住宅楼顶，夜间十点以后停飞。",
    ),
    _article(
        "tech-5g-map", "一张动图看懂新港区 5G 基站分布", "数码阿成", "2024-03-15 18:30", 1,
        [img("anim.gif")],
        "截至二月底，新港区已经建成 5G 基站 214 座，主要道路和地铁站基本实现连续覆盖。",
        "通信管理部门制作了一张动图，用不同颜色表示每个季度新增的基站。地图上空白最多的地方，是还在施工的湖滨新城。",
    ),
    _article(
        "tech-phone-recycling", "旧手机回收点增至 30 个", "东岸小记者", "2024-02-27 11:05", 1,
        [img("missing.jpg"), img("stadium.jpg")],
        "记者从市商务局获悉，全市旧手机回收点已经增加到 30 个，大多设在社区服务中心和大型商场。",
        "回收前，工作人员会当着机主的面清除数据，并出具一张回收单。成色较好的手机可以折价换购新机。",
        "商务局提醒，交回旧手机前最好先退出各类账号，备份好照片和通讯录。",
    ),
    _article(
        "tech-night-reading", "澄湖图书馆推出 'Night Reading' 夜读计划", "澄湖科技圈", "2024-09-06 21:00", 1,
        [img("library.jpg")],
        "从九月起，市图书馆三楼阅览室每周五、周六开放到晚上十一点，图书馆给这个计划起名 Night Reading。",
        "夜读时段提供免费 Wi-Fi 和充电座位，但不办理借还业务。第一个周五晚上，来了两百多位读者。",
    ),
    _article(
        "tech-ev-charging", "“慢充”还是“快充”？新港区充电桩调查", "数码阿成", "2024-08-12 08:40", 1,
        [img("bridge.jpg")],
        "新港区目前有公共充电桩一千二百多个，其中快充桩约占三成。记者走访发现，下班高峰时段快充桩经常要排队。",
        "不少车主选择在小区里装慢充桩，但老小区电力容量有限，申请安装往往要等上几个月。",
        "供电公司表示，今年会对二十个老小区做电力扩容，优先满足充电需求。",
    ),
    _article(
        "tech-smart-lamp", "老城区路灯换上智能控制器", "东岸小记者", "2024-01-19 19:15", 1,
        [img("lantern.jpg")],
        "老城区三千多盏路灯近日完成改造，每盏灯都装上了智能控制器，可以按照天色自动调节亮度。",
        "城管部门估计，改造后一年能省电约四成。哪盏灯坏了，后台会自动报修，不用再等市民打电话。",
    ),
    _article(
        "tech-hackathon", "中学生 Hackathon 落幕，垃圾分类小程序夺冠", "澄湖科技圈", "2024-11-03 17:50", 1,
        [img("orchard.jpg")],
        "首届澄湖中学生 Hackathon 上周末落幕，来自九所学校的三十支队伍在 48 小时里各自完成了一个作品。",
        "冠军作品是一个垃圾分类小程序：拍下垃圾的照片，程序会告诉你该扔进哪个桶。评委认为它“简单，但真的有人会用”。",
        "主办方说，明年打算把比赛开放给职业学校的学生。",
    ),
    _article(
        "tech-lake-cooling", "东岸数据中心用湖水降温", "数码阿成", "2024-10-10 14:25", 1,
        [img("river.jpg")],
        "东岸数据中心二期工程投入使用。与一期不同，二期的机房用湖水给服务器降温，夏天也很少需要开压缩机。",
        "运营方介绍，取出的湖水经过换热后再排回湖里，温度只比取水口高两三度，并接受环保部门的在线监测。",
        "按照设计，二期的能耗指标 PUE 可以做到 1.2 左右。",
    ),
    _article(
        "tech-repair-cafe", "社区维修站开张：旧电器排队等修", "东岸小记者", "2024-12-01 10:30", 1,
        [img("market.jpg")],
        "滨河社区的维修站上周六开张，几位退休的电工和工程师志愿坐班，帮居民修电风扇、收音机和台灯。",
        "开张第一天就收到六十多件电器，一上午修好了一半。修不好的，师傅会写下原因，建议居民送去专业维修点。",
        "社区计划每月开放两次，零件按成本收费，手工不收钱。",
    ),
    # 财经 (cid 2)
    _article(
        "money-rnd", "本地企业 R&D 投入增长 12%", "账本君", "2024-04-28 16:00", 2,
        [img("chart.png")],
        "市统计局发布的数据显示，去年全市规模以上企业研发投入同比增长 12%，增速比前年快了三个百分点。",
        "投入最多的是装备制造和生物医药两个行业，合计占到全市总额的一半以上。",
        "统计局分析，研发费用加计扣除政策对中小企业的带动作用最为明显。",
        gif_placeholder=True,
    ),
    _article(
        "money-vegetables", "早市观察: 菜价回落，草莓上市", "菜篮子日记", "2024-02-20 07:10", 2,
        [no_referer("market.jpg")],
        "早上六点半的老城菜市场已经很热闹。随着气温回升，青菜、菠菜的价格比上个月便宜了两三成。",
        "本地草莓也开始上市，个头大的卖到二十元一斤。摊主说再过两周，价格还会往下走。",
    ),
    _article(
        "money-night-market", "老城区夜市摊位费减半", "菜篮子日记", "2024-05-30 20:45", 2,
        [img("fake.jpg"), img("lantern.jpg")],
        "为了让夜市留住更多小摊主，老城区从六月起把夜市摊位费减半，新入驻的摊位前三个月免费。",
        "夜市管理处说，目前有摊位一百八十个，以小吃和手工艺品为主。减免政策公布后，三天内收到四十多份入驻申请。",
    ),
    _article(
        "money-tax-app", "个税 App 年度汇算开始预约", "账本君", "2024-02-22 09:00", 2,
        [],
        "本年度个人所得税综合所得汇算开始预约。纳税人可以在个税 App 上选择三月一日至二十日之间的任意一天办理。",
        "税务部门提醒，预约期间收到的“退税链接”短信多半是诈骗，办理汇算只认官方 App 和网站。",
        "三月二十一日以后无需预约，随时可以办理。",
    ),
    _article(
        "money-spring-tea", "春茶开采，茶农算了一笔账", "湖边理财课", "2024-03-28 13:20", 2,
        [img("teahouse.jpg")],
        "清明前，西山的茶园进入采摘高峰。茶农老陈家有十二亩茶园，今年雇了八个采茶工。",
        "老陈算了算：人工每天要花一千多元，好在今年明前茶收购价每斤涨了五十元，扣掉成本还能多赚一些。",
        "这两年，越来越多茶农开始在网上直播卖茶，老陈的女儿也注册了一个账号。",
    ),
    _article(
        "money-port-cargo", "新港码头上半年吞吐量创新高", "湖边理财课", "2024-07-05 11:40", 2,
        [img("bridge.jpg")],
        "新港码头上半年货物吞吐量达到 3100 万吨，同比增长 9%，创下同期最高纪录。",
        "增长主要来自集装箱业务。码头新开通了两条内河航线，把周边县市的货物集中到新港再转运出海。",
    ),
    _article(
        "money-coupons", "消费券第二轮发放，家电类最受欢迎", "账本君", "2024-06-01 10:00", 2,
        [img("workshop.jpg")],
        "全市第二轮消费券今天上午十点开抢，总额两千万元，分为餐饮、零售和家电三类。",
        "家电类消费券最受欢迎，满三千减三百的券十分钟就领完了。商家反映，空调和冰箱的咨询量明显增加。",
        "没有抢到券的市民不用着急，第三轮预计在八月发放。",
    ),
    _article(
        "money-campus-rent", "大学城周边房租小幅下降", "湖边理财课", "2024-09-18 15:10", 2,
        [img("skyline.jpg")],
        "新学期开学后，大学城周边的一居室月租金平均在一千六百元左右，比去年同期低了约 5%。",
        "中介分析，新建的两个保障性租赁住房项目陆续入住，市场上可选的房子多了。",
    ),
    _article(
        "money-orchard-live", "果园里的直播间：一天卖出两吨梨", "菜篮子日记", "2024-08-26 19:30", 2,
        [img("orchard.jpg")],
        "南乡的梨园这几天搭起了直播间。果农小吴一边摘梨一边讲解，一场 Live 下来卖出两吨多。",
        "以前梨子主要卖给上门收购的商贩，价格压得很低。现在直接卖给消费者，每斤能多卖一元多。",
        "村里还请快递公司在果园旁边设了收件点，当天摘的梨当天就能发走。",
    ),
    _article(
        "money-senior-counter", "银行网点开设长者窗口", "账本君", "2024-10-15 09:50", 2,
        [img("river.jpg")],
        "全市四十多家银行网点近日开设了长者窗口，六十五岁以上的客户可以优先办理业务。",
        "网点还准备了老花镜和放大镜。工作人员会一步步教老人使用手机银行，但不会代为操作。",
    ),
    _article(
        "money-loan-rate", "小微企业贷款利率再降 0.2 个百分点", "湖边理财课", "2024-01-16 16:30", 2,
        [img("tram.jpg")],
        "多家本地银行宣布下调小微企业贷款利率，平均降幅约 0.2 个百分点。",
        "一家做包装材料的小厂老板算了一下：一百万元的贷款，一年能少付两千元利息。",
        "金融监管部门表示，会继续督促银行压缩审批时间，让贷款放得更快。",
    ),
    # 生活 (cid 3)
    _article(
        "life-lakeside-walk", "#周末去哪儿 湖滨步道新开三公里", "老街漫游者", "2024-04-20 08:00", 3,
        [img("river.jpg"), img("harbor.jpg")],
        "湖滨步道北段新开放三公里，从渔人码头一直连到芦苇湾，沿途设置了六个休息点。",
        "步道全程铺了透水砖，晚上有地灯照明。周末来散步、跑步和 Citywalk 的人很多，建议错开下午四点到六点的高峰。",
    ),
    _article(
        "life-old-street", "老街修缮完工，青石板路回来了", "老街漫游者", "2024-06-08 09:30", 3,
        [img("truncated.jpg"), img("lantern.jpg")],
        "历时一年的青石巷修缮工程完工。原来的水泥路面被揭掉，重新铺回了青石板。",
        "修缮时尽量保留了老房子的门头和木窗，几家老字号也回到了巷子里。",
        "街道办表示，青石巷不会引入连锁品牌，首层店铺优先租给原来的住户。",
    ),
    _article(
        "life-winter-dumplings", "社区食堂冬至包饺子", "周末跑团", "2024-12-21 12:00", 3,
        [img("teahouse.jpg")],
        "冬至这天，滨河社区食堂请来二十多位居民一起包饺子，有韭菜鸡蛋馅的，也有白菜猪肉馅的。",
        "包好的饺子一部分留在食堂，一部分由志愿者送给社区里独居的老人。",
    ),
    _article(
        "life-rooftop-garden", "屋顶菜园：楼顶种出了番茄和辣椒", "周末跑团", "2024-07-14 17:20", 3,
        [img("orchard.jpg")],
        "东岸区一栋老居民楼的楼顶，变成了一片小菜园。十几户人家分到了各自的种植箱。",
        "番茄、辣椒和小葱长得最好。居民们还建了一个群，轮流负责浇水，谁家出门旅游就托邻居帮忙。",
        "物业提醒，种植箱必须放在承重墙上方，不能堵住排水口。",
    ),
    _article(
        "life-lost-cat", "走失三天的橘猫被外卖小哥送回家", "老街漫游者", "2024-03-02 21:40", 3,
        [img("market.jpg")],
        "住在老城区的王阿姨家的橘猫走失了三天，全家人在附近贴了好多张寻猫启事。",
        "第三天晚上，一位外卖小哥在两条街外的车棚里认出了它，抱着猫按启事上的地址送了回来。",
        "王阿姨想给他红包，他没收，只说了一句：“我也养猫。”",
    ),
    # 文旅 (cid 4)
    _article(
        "travel-cycling-map", "澄湖骑行地图更新，新增 8 条线路", "澄湖文旅", "2024-05-01 08:30", 4,
        [img("map.webp")],
        "新版澄湖骑行地图今天发布，新增 8 条线路，总里程超过三百公里。",
        "每条线路都标出了坡度、补给点和共享单车还车点，适合不同体力的骑行者。",
        "地图可以在游客中心免费领取，也可以在文旅局网站下载电子版。",
    ),
    _article(
        "travel-badges", "景区推出电子打卡徽章", "澄湖文旅", "2024-08-01 10:15", 4,
        [img("badge.png")],
        "今年暑假，全市十二个景区推出电子打卡徽章。游客在景区扫码就能点亮一枚徽章。",
        "集齐六枚徽章可以兑换一张湖心岛渡轮船票。上线一周，已经有一万多人参加。",
    ),
    _article(
        "travel-bridge-lights", "百年石桥夜景灯光启用", "新港观察", "2024-09-28 19:00", 4,
        [img("bridge.jpg")],
        "有一百多年历史的永宁桥换上了新的夜景灯光。灯光用暖黄色，为的是不盖过石头本来的颜色。",
        "设计师说，灯具全部藏在桥洞和栏杆下面，白天从远处几乎看不到。",
    ),
    _article(
        "travel-night-ferry", "湖心岛渡轮恢复夜航", "新港观察", "2024-06-15 18:10", 4,
        [img("skyline.jpg")],
        "停航三年的湖心岛夜航渡轮本周末恢复运营，每晚七点到九点半，每半小时一班。",
        "夜航票价三十元，船上可以看到新港区的天际线。售票处建议游客提前在网上预约座位。",
    ),
    _article(
        "travel-homestay", "山里民宿迎来第一批外国客人", "澄湖文旅", "2024-10-05 14:00", 4,
        [img("teahouse.jpg")],
        "西山村的几家民宿这个国庆节迎来了第一批外国客人，他们是在网上看到一段采茶 Vlog 后专程来的。",
        "民宿主人提前学了几句英语，还把菜单翻译成了中英对照。客人最喜欢的，是跟着茶农上山采茶。",
        "村里打算明年办一次茶文化周，邀请更多游客来体验。",
    ),
    # 体育 (cid 5)
    _article(
        "sports-half-marathon", "澄湖半程马拉松报名开启", "周末跑团", "2024-08-20 12:00", 5,
        [img("stadium.jpg")],
        "第五届澄湖半程马拉松开始报名，比赛定在十一月十日，起点和终点都在奥体中心。",
        "今年名额一万两千个，报名人数超过名额时将抽签决定。赛道沿湖滨路绕行，比去年少了两个上坡。",
    ),
    _article(
        "sports-dragon-boat", "龙舟队开始训练，目标省赛前三", "新港观察", "2024-04-25 07:30", 5,
        [img("river.jpg")],
        "新港区龙舟队近日开始集训，二十二名队员大多是附近的渔民和工人，最年轻的十九岁。",
        "教练说，今年的目标是在省赛拿到前三名。队员每天早上五点半下水，练到七点再去上班。",
    ),
    _article(
        "sports-table-tennis", "社区乒乓球联赛：七旬老人打进八强", "周末跑团", "2024-07-30 20:00", 5,
        [img("workshop.jpg")],
        "全市社区乒乓球联赛进入八强赛，七十二岁的刘大爷成了最受关注的选手。",
        "刘大爷年轻时是厂里的乒乓球冠军，退休后每天都到社区活动室打两个小时。",
        "他说下一场的对手是个大学生，“输了也不丢人，赢了就更好了”。",
    ),
    _article(
        "sports-winter-swim", "冬泳爱好者：零度也要下水", "新港观察", "2024-01-08 07:00", 5,
        [img("harbor.jpg")],
        "气温降到零度，澄湖冬泳队的三十多名队员照常在码头边下水。",
        "队长提醒，冬泳要循序渐进，最好从秋天开始坚持，有心脏病和高血压的人不要尝试。",
    ),
)


ARTICLES += (
    # 社区 (cid 6): a summary-only feed; the pages hold the full text
    _article(
        "community-garden", "老厂房屋顶变身社区菜园", "东岸小记者", "2024-09-03 10:00", 6,
        [img("orchard.jpg")],
        "东岸区纺织厂旧厂房的屋顶上，三十多户居民认领了自己的小菜地。",
        "菜园由街道和居民一起出资改造，铺了防水层和轻质土，每块地两平方米，按年认领，费用只够买种子和水。",
        "负责管理的退休教师王阿姨说，最抢手的是靠近水龙头的几块地。秋天收下的第一批青菜，大家凑在一起包了饺子。",
    ),
    _article(
        "community-repair-day", "每月第一个周六，社区义修日", "新港观察", "2024-10-05 09:00", 6,
        [img("workshop.jpg")],
        "新港区五个社区轮流举办义修日，修家电、磨菜刀、补雨伞都不收钱。",
        "志愿者里有退休的电工，也有职业学校的学生。一天下来，他们修好了四十多台电风扇和收音机。",
        "组织者说，很多东西修一修还能用好几年，扔掉太可惜，这也是义修日坚持了三年的原因。",
    ),
    _article(
        "community-night-bus", "夜班公交开进城中村", "数码阿成", "2024-11-12 22:30", 6,
        [img("tram.jpg")],
        "从下周一开始，N5 路夜班公交延伸到西河村，末班车发车时间推迟到凌晨一点。",
        "西河村住着不少在餐馆和医院上夜班的年轻人，以前下班只能打车或者骑电动车回家。",
        "交通集团表示，试运行三个月后会根据客流决定是否增加班次。",
    ),
    # 文化 (cid 7): an HTML news list, two pages
    _article(
        "culture-opera-school", "越剧进校园：小学生登台唱《十八相送》", "澄湖文旅", "2024-06-01 15:00", 7,
        [img("lantern.jpg")],
        "湖滨小学的越剧兴趣班成立两年，今年六一第一次登上区文化馆的舞台。",
        "指导老师是剧团的老演员，每周二下午来学校上课。孩子们从站姿、水袖学起，一学期只学一段唱腔。",
        "演出结束后，台下不少家长也跟着哼了起来。",
    ),
    _article(
        "culture-old-books", "旧书市集回到老街", "东岸小记者", "2024-09-21 10:30", 7,
        [img("library.jpg")],
        "停办五年的旧书市集这个周末在澄湖老街重新开张，六十多个摊位摆满了两条巷子。",
        "摊主有收藏了几十年的老读者，也有刚毕业、来出清教材的大学生。最贵的是一套民国版的地方志。",
        "主办方说，市集以后每个季度办一次，摊位免费，但只卖旧书。",
    ),
    _article(
        "culture-museum-night", "博物馆夜场开放到晚上九点", "新港观察", "2024-07-15 19:00", 7,
        [img("skyline.jpg")],
        "澄湖博物馆暑期每周五、周六开放夜场，闭馆时间延长到晚上九点。",
        "夜场推出了手电筒导览，观众可以跟着讲解员在熄灯的展厅里看青铜器上的纹样。",
        "夜场门票免费，但需要提前一天在网上预约。",
    ),
    # 健康 (cid 8): a JSON API of its own shape, article pages read by extraction
    _article(
        "health-flu-shots", "流感疫苗开打，社区医院延长门诊", "澄湖卫健", "2024-10-10 08:00", 8,
        [img("harbor.jpg")],
        "今年的流感疫苗本周起在全市四十二家社区医院开打，六十岁以上老人和在校学生可以免费接种。",
        "为了方便上班族，东岸区和新港区的社区医院在工作日把门诊时间延长到晚上八点，周六上午也照常接种。",
        "医生提醒，接种后要在医院留观半个小时，当天不要剧烈运动。已经在发烧的市民，应该等痊愈后再来接种。",
    ),
    _article(
        "health-walking-trail", "湖滨健身步道完工，全程十二公里", "周末跑团", "2024-05-18 07:00", 8,
        [img("river.jpg")],
        "环湖健身步道最后一段完工，步道全程十二公里，每五百米设一个里程桩和饮水点。",
        "步道采用透水塑胶铺面，雨后不积水。沿途还有六个小广场，可以做拉伸和打太极拳。",
        "管理处建议，晚上散步的市民尽量结伴，并注意避让骑行的人。",
    ),
)


def category(cid: int) -> Category | None:
    return next((c for c in CATEGORIES if c.cid == cid), None)


def category_by_slug(slug: str) -> Category | None:
    return next((c for c in CATEGORIES if c.slug == slug), None)


def articles_in(cid: int) -> list[Article]:
    """A category's articles, newest first, the order every aggregator lists them in."""
    return sorted((a for a in ARTICLES if a.cid == cid), key=lambda a: a.published, reverse=True)


def article(article_id: str) -> Article | None:
    return _BY_ID.get(article_id)


_BY_ID = {a.id: a for a in ARTICLES}
