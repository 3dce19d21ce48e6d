"""Word lists the emulated tenant draws names, titles, places and apps from."""

from __future__ import annotations

FIRST_NAMES: tuple[str, ...] = (
    "Aaliyah", "Adam", "Adele", "Aiko", "Alan", "Alex", "Alicia", "Amara", "Amir", "Ana", "Andrea", "Anna",
    "Anton", "Arjun", "Ben", "Bianca", "Carlos", "Carmen", "Chen", "Chloe", "Christie", "Daniel", "Diego",
    "Dmitri", "Elena", "Emily", "Emma", "Erik", "Fatima", "Felix", "Freya", "Gabriel", "Grace", "Hana",
    "Hannah", "Henrik", "Ibrahim", "Ines", "Isaac", "Isabel", "Jakob", "James", "Jana", "Jin", "Johanna",
    "Jonas", "Jose", "Julia", "Kai", "Karin", "Kenji", "Lara", "Laura", "Lee", "Lena", "Leon", "Liam",
    "Lidia", "Lina", "Lucas", "Luis", "Lynne", "Maja", "Marco", "Maria", "Mark", "Marta", "Mateo",
    "Megan", "Mei", "Miguel", "Mila", "Mohammed", "Nadia", "Nathan", "Nestor", "Nina", "Noah", "Olga",
    "Omar", "Oscar", "Patti", "Paula", "Pedro", "Pradeep", "Priya", "Rafael", "Raj", "Rosa", "Ruth",
    "Sam", "Sara", "Sofia", "Stefan", "Tomas", "Valentina", "Victor", "Wei", "Yara", "Yusuf", "Zoe",
)

LAST_NAMES: tuple[str, ...] = (
    "Adams", "Ahmed", "Alvarez", "Andersen", "Bauer", "Becker", "Bernard", "Brown", "Campbell", "Chen",
    "Costa", "Cruz", "Dubois", "Edwards", "Evans", "Fernandez", "Fischer", "Garcia", "Gonzalez", "Gupta",
    "Hansen", "Harris", "Hoffmann", "Hughes", "Ivanova", "Jackson", "Jensen", "Johansson", "Kaur", "Khan",
    "Kim", "Klein", "Kowalski", "Kumar", "Larsen", "Laurent", "Lee", "Lopez", "Martin", "Meyer", "Miller",
    "Moreau", "Morris", "Muller", "Murphy", "Nakamura", "Nguyen", "Nielsen", "Novak", "Okafor", "Olsen",
    "Ortiz", "Park", "Patel", "Perez", "Petrov", "Rossi", "Russo", "Sanchez", "Sato", "Schmidt",
    "Schneider", "Silva", "Singh", "Smith", "Suzuki", "Tanaka", "Taylor", "Thomas", "Torres", "Wagner",
    "Walker", "Wang", "Weber", "White", "Wilson", "Wong", "Yamamoto", "Young", "Zhang",
)

#: department -> job titles
DEPARTMENTS: dict[str, tuple[str, ...]] = {
    "Engineering": ("Software Engineer", "Senior Software Engineer", "Engineering Manager", "SRE"),
    "Finance": ("Accountant", "Financial Analyst", "Controller", "Payroll Specialist"),
    "Human Resources": ("HR Generalist", "Recruiter", "HR Business Partner"),
    "IT": ("Systems Administrator", "Helpdesk Technician", "Identity Engineer", "IT Manager"),
    "Legal": ("Counsel", "Paralegal", "Compliance Officer"),
    "Marketing": ("Marketing Specialist", "Content Strategist", "Brand Manager"),
    "Operations": ("Operations Analyst", "Logistics Coordinator", "Facilities Manager"),
    "Product": ("Product Manager", "UX Designer", "Product Owner"),
    "Research": ("Research Scientist", "Data Scientist", "Lab Technician"),
    "Sales": ("Account Executive", "Sales Engineer", "Sales Director", "Inside Sales Rep"),
    "Security": ("Security Analyst", "SOC Engineer", "CISO"),
    "Support": ("Support Engineer", "Customer Success Manager", "Support Lead"),
}
DEPARTMENT_NAMES: tuple[str, ...] = tuple(DEPARTMENTS)

#: (office name, city, state, country, postal code, street, usage location, preferred language)
OFFICES: tuple[tuple[str, str, str | None, str, str, str, str, str], ...] = (
    ("Redmond HQ", "Redmond", "WA", "United States", "98052", "1 Microsoft Way", "US", "en-US"),
    ("Seattle", "Seattle", "WA", "United States", "98101", "1200 5th Ave", "US", "en-US"),
    ("New York", "New York", "NY", "United States", "10001", "11 Times Sq", "US", "en-US"),
    ("Austin", "Austin", "TX", "United States", "78701", "500 W 2nd St", "US", "en-US"),
    ("London", "London", None, "United Kingdom", "EC2A 2BB", "2 Kingdom St", "GB", "en-GB"),
    ("Dublin", "Dublin", None, "Ireland", "D02 X525", "1 Grand Canal Sq", "IE", "en-IE"),
    ("Berlin", "Berlin", "BE", "Germany", "10117", "Unter den Linden 17", "DE", "de-DE"),
    ("Paris", "Paris", None, "France", "75008", "37 Quai du Président Roosevelt", "FR", "fr-FR"),
    ("Madrid", "Madrid", None, "Spain", "28020", "Paseo de la Castellana 79", "ES", "es-ES"),
    ("Tokyo", "Tokyo", None, "Japan", "108-0075", "2-16-3 Konan", "JP", "ja-JP"),
    ("Bangalore", "Bengaluru", "KA", "India", "560071", "Embassy Golf Links", "IN", "en-IN"),
    ("Sydney", "Sydney", "NSW", "Australia", "2000", "1 Denison St", "AU", "en-AU"),
    ("São Paulo", "São Paulo", "SP", "Brazil", "04543-907", "Av. Pres. Juscelino Kubitschek 1909",
     "BR", "pt-BR"),
    ("Toronto", "Toronto", "ON", "Canada", "M5J 2T3", "81 Bay St", "CA", "en-CA"),
)

TENANTS: tuple[tuple[str, str], ...] = (
    ("Contoso Ltd", "contoso"), ("Fabrikam Inc", "fabrikam"), ("Northwind Traders", "northwind"),
    ("Tailspin Toys", "tailspintoys"), ("Woodgrove Bank", "woodgrovebank"), ("Adatum Corporation", "adatum"),
    ("Litware Inc", "litware"), ("Proseware Inc", "proseware"),
)

GUEST_DOMAINS: tuple[str, ...] = (
    "gmail.com", "outlook.com", "partner.example", "agency.example", "consulting.example", "vendor.example",
)

PROJECTS: tuple[str, ...] = (
    "Apollo", "Atlas", "Aurora", "Borealis", "Cascade", "Comet", "Falcon", "Galileo", "Harbor", "Helix",
    "Horizon", "Jupiter", "Lighthouse", "Mercury", "Meridian", "Nova", "Orion", "Pegasus", "Phoenix",
    "Quasar", "Sequoia", "Summit", "Titan", "Vega", "Zephyr",
)

APP_NAMES: tuple[str, ...] = (
    "Payroll Connector", "Expense Portal", "HR Onboarding", "Contract Tracker", "Sales Dashboard",
    "Inventory Sync", "Customer Portal", "Build Agent", "Backup Automation", "Ticketing Bridge",
    "Marketing Analytics", "Travel Booking", "Learning Hub", "Visitor Registration", "Invoice Scanner",
    "Asset Manager", "Data Lake Ingest", "Mobile Field App", "Legal Hold", "Partner Extranet",
)

GALLERY_APPS: tuple[tuple[str, str], ...] = (
    ("Salesforce", "Salesforce.com"), ("ServiceNow", "ServiceNow"), ("Workday", "Workday"),
    ("Zoom", "Zoom Video Communications"), ("Slack", "Slack Technologies"), ("GitHub Enterprise", "GitHub"),
    ("Atlassian Cloud", "Atlassian"), ("DocuSign", "DocuSign"), ("Box", "Box"),
    ("Dropbox Business", "Dropbox"),
    ("AWS IAM Identity Center", "Amazon Web Services"), ("Google Cloud", "Google"), ("Adobe Creative Cloud",
    "Adobe"), ("Tableau Cloud", "Tableau"), ("Zscaler Internet Access", "Zscaler"),
)

FIRST_PARTY_SPS: tuple[str, ...] = (
    "Microsoft Graph", "Office 365 Exchange Online", "Office 365 SharePoint Online", "Microsoft Teams",
    "Azure Portal", "Microsoft Intune", "Windows Azure Active Directory", "Microsoft Azure CLI",
    "Office 365 Management APIs", "Power BI Service", "Microsoft Forms", "Azure Key Vault",
    "Microsoft Defender for Cloud Apps", "Dynamics CRM Online", "Skype for Business Online",
)

HOSTILE_USER_NAMES: dict[int, str] = {
    1: "[bold]Rich[/] Markup [link=https://example.invalid]click[/link]",
    2: "\x1b[31mANSI Red\x1b[0m Escape",
    3: "مريم الحسن",
    4: "Very Long " + "Name " * 58,
    5: "",
    6: "Zoë 😀 Ünïcødé ‮reversed‬ Name",
}
HOSTILE_GROUP_NAMES: dict[int, str] = {
    4: "[red]Domain Admins[/red] \x1b[5mblink\x1b[0m",
    5: "קבוצת הנהלה",
}
HOSTILE_APP_NAME = "[link=https://example.invalid]Totally Legit App[/link] \x1b[32mOK\x1b[0m"
