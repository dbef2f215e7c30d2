//! Every walk of the schema, over the one [`Schema`] reader: each field classified
//! (`@essential`, `@requiresConsent`, `@notPersonal`); each `@requiresConsent` field refusing
//! exactly its purpose and no other field refusing for consent; each staff field declaring
//! and enforcing a role rule and a second factor; no field returning a secret that is not
//! on the reviewed list; no store entity in the schema. Each walk has a test that runs it on
//! a hand-written schema, so that it is shown to fail where it should.

use std::collections::BTreeSet;

use async_graphql::parser::types::{BaseType, Type};
use icecone_core::consent::Purpose;
use icecone_core::identity::roles::StaffRole;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::app::{Admin, FRESH, Factor, STALE, TestApp, code};
use crate::support::schema_walk::{Directive, Field, Kind, Schema};

// ---------------------------------------------------------------------------------------
// Classification: every field says whether it returns personal data, and why.

#[derive(Debug, PartialEq, Eq)]
enum Class {
    Essential(String),
    Consent(String),
    NotPersonal,
}

fn class_of(directives: &[Directive]) -> Option<Class> {
    directives
        .iter()
        .find_map(|directive| match directive.name.as_str() {
            "essential" => Some(Class::Essential(directive.enum_argument("purpose"))),
            "requiresConsent" => Some(Class::Consent(directive.enum_argument("purpose"))),
            "notPersonal" => Some(Class::NotPersonal),
            _ => None,
        })
}

fn needs_consent(purpose: &str) -> bool {
    Purpose::parse(purpose).is_ok_and(Purpose::needs_consent)
}

/// Every field of every object type of `sdl` that is not classified, as `Type.field`, and
/// every classification that names the wrong kind of purpose.
fn unclassified_fields(sdl: &str) -> Vec<String> {
    let schema = Schema::parse(sdl);
    let type_class = |name: &str| schema.get(name).and_then(|ty| class_of(&ty.directives));
    // Containers the framework generates (connections, edges, page info) cannot carry
    // directives; they wrap nodes, and it is the nodes' types that must be classified.
    let container =
        |name: &str| name == "PageInfo" || name.ends_with("Connection") || name.ends_with("Edge");
    let mut problems = Vec::new();
    for ty in schema.objects() {
        let name = ty.name.as_str();
        let root = matches!(name, "Query" | "Mutation" | "Subscription");
        if container(name) {
            continue;
        }
        for field in &ty.fields {
            let returned = field.base_type.as_str();
            let returned_class = match schema.get(returned).map(|t| &t.kind) {
                Some(Kind::Union(members)) => {
                    // Classified when every member is; it takes the first member's class.
                    let members: Option<Vec<Class>> =
                        members.iter().map(|member| type_class(member)).collect();
                    members.and_then(|members| members.into_iter().next())
                }
                Some(Kind::Object) if !container(returned) => type_class(returned),
                _ => None,
            };
            let class = class_of(&field.directives)
                .or_else(|| if root { None } else { type_class(name) })
                .or(if root { returned_class } else { None });
            let label = format!("{name}.{}", field.name);
            match class {
                None => problems.push(label.clone()),
                Some(Class::Essential(purpose)) if needs_consent(&purpose) => {
                    problems.push(format!(
                        "{label}: @essential with consent purpose {purpose}"
                    ));
                }
                Some(Class::Consent(purpose)) if !needs_consent(&purpose) => {
                    problems.push(format!("{label}: @requiresConsent with {purpose}"));
                }
                Some(_) => {}
            }
            // A type gated on a purpose may only be reached through fields gated on it.
            if let Some(Class::Consent(purpose)) = type_class(returned)
                && class_of(&field.directives) != Some(Class::Consent(purpose.clone()))
            {
                problems.push(format!(
                    "{label}: reaches a type gated on {purpose} ungated"
                ));
            }
        }
    }
    problems.sort();
    problems
}

#[test]
fn every_field_of_the_schema_is_classified() {
    let problems = unclassified_fields(&icecone_gateway::graphql::sdl());
    assert!(problems.is_empty(), "unclassified fields: {problems:#?}");
}

#[test]
fn the_classification_walk_finds_unclassified_and_misclassified_fields() {
    let sdl = r#"
        directive @essential(purpose: Purpose!) on OBJECT | FIELD_DEFINITION
        directive @requiresConsent(purpose: Purpose!) on OBJECT | FIELD_DEFINITION
        directive @notPersonal on OBJECT | FIELD_DEFINITION
        enum Purpose { SECURITY MARKETING PERSONALIZATION }
        type Profile @requiresConsent(purpose: PERSONALIZATION) { hobby: String }
        type Person @essential(purpose: SECURITY) {
            name: String
            profile: Profile @requiresConsent(purpose: PERSONALIZATION)
            sneaky: Profile
        }
        type Query {
            me: Person
            secret: String
            news: String @essential(purpose: MARKETING)
            hobby: String @requiresConsent(purpose: SECURITY)
        }
    "#;
    assert_eq!(
        unclassified_fields(sdl),
        [
            "Person.sneaky: reaches a type gated on PERSONALIZATION ungated",
            "Query.hobby: @requiresConsent with SECURITY",
            "Query.news: @essential with consent purpose MARKETING",
            "Query.secret",
        ]
    );
}

#[test]
fn the_sdl_shows_the_consent_directive_on_the_reference_field() {
    let sdl = icecone_gateway::graphql::sdl();
    assert!(
        sdl.contains(
            "personalization: Personalization @requiresConsent(purpose: PERSONALIZATION)\n"
        ),
        "{sdl}"
    );
}

// ---------------------------------------------------------------------------------------
// Consent: a field refuses for consent exactly when its directive says so, for the purpose
// it names.

/// The purpose a field declares with `@requiresConsent`, on itself or on the type it
/// returns.
fn declared_purpose(schema: &Schema, field: &Field) -> Option<String> {
    field
        .directive("requiresConsent")
        .or_else(|| schema.get(&field.base_type)?.directive("requiresConsent"))
        .map(|directive| directive.enum_argument("purpose"))
}

/// A selection set of type `ty` reaching every field that takes no required argument:
/// `__typename` of every object (the walk of the answer reads it), a type already on the
/// path entered no further, and at most `depth` levels of objects.
fn selection(schema: &Schema, ty: &str, path: &mut Vec<String>, depth: usize) -> String {
    let Some(definition) = schema.get(ty) else {
        return String::new();
    };
    let mut parts = vec!["__typename".to_owned()];
    match &definition.kind {
        Kind::Union(members) => {
            for member in members {
                let inner = nested(schema, member, path, depth);
                parts.push(format!("... on {member} {inner}"));
            }
        }
        Kind::Object | Kind::Interface => {
            for field in &definition.fields {
                if field.arguments.iter().any(|(_, ty)| !ty.nullable) {
                    continue;
                }
                if schema.is_leaf(&field.base_type) {
                    parts.push(field.name.clone());
                } else {
                    let inner = nested(schema, &field.base_type, path, depth);
                    parts.push(format!("{} {inner}", field.name));
                }
            }
        }
        Kind::Scalar | Kind::Enum | Kind::InputObject => {}
    }
    parts.join(" ")
}

/// The braced selection of a nested object type.
fn nested(schema: &Schema, ty: &str, path: &mut Vec<String>, depth: usize) -> String {
    if depth == 0 || path.iter().any(|seen| seen == ty) {
        return "{ __typename }".to_owned();
    }
    path.push(ty.to_owned());
    let inner = selection(schema, ty, path, depth - 1);
    path.pop();
    format!("{{ {inner} }}")
}

/// The document the consent walk sends for the root query field `field`, called with
/// `arguments` (`(id: "...")`, or empty).
fn walk_document(schema: &Schema, field: &str, arguments: &str) -> String {
    let returned = schema
        .field("Query", field)
        .unwrap_or_else(|| panic!("Query.{field} is not in the schema"))
        .base_type
        .clone();
    let selected = if schema.is_leaf(&returned) {
        String::new()
    } else {
        nested(schema, &returned, &mut Vec::new(), WALK_DEPTH)
    };
    format!("query Walk {{ __typename {field}{arguments} {selected} }}")
}

/// How many levels of objects the consent walk selects.
const WALK_DEPTH: usize = 6;

/// What the walk of one answer found.
#[derive(Debug, Default)]
struct ConsentCheck {
    /// Fields that refuse for consent without declaring it, declare it without refusing,
    /// or refuse for another purpose than the one they declare.
    problems: Vec<String>,
    /// The gated fields (`Type.field`) the answer reached and checked.
    gated: BTreeSet<String>,
}

/// Walks `answer` (a `query` answered for a caller who has consented to nothing optional)
/// along the schema: every field it holds is held to its `@requiresConsent` directive.
fn check_consent(schema: &Schema, answer: &Value) -> ConsentCheck {
    let refusals: Vec<(Vec<Value>, String)> = answer["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|error| error["extensions"]["code"] == "CONSENT_REQUIRED")
        .map(|error| {
            let path = error["path"].as_array().cloned().unwrap_or_default();
            let purpose = error["extensions"]["purpose"]
                .as_str()
                .unwrap_or("none")
                .to_owned();
            (path, purpose)
        })
        .collect();
    let mut check = ConsentCheck::default();
    let mut placed = vec![false; refusals.len()];
    let mut pending = vec![(Vec::<Value>::new(), &answer["data"])];
    while let Some((path, value)) = pending.pop() {
        match value {
            Value::Array(items) => {
                for (index, item) in items.iter().enumerate() {
                    let mut inner = path.clone();
                    inner.push(json!(index));
                    pending.push((inner, item));
                }
            }
            Value::Object(object) => {
                let Some(ty) = object.get("__typename").and_then(Value::as_str) else {
                    continue;
                };
                // A refused field may be left out of its object: it counts as held there.
                let refused_here = refusals.iter().filter_map(|(at, _)| match at.split_last() {
                    Some((Value::String(name), parent)) if *parent == path[..] => Some(name),
                    _ => None,
                });
                let names: BTreeSet<&String> = object.keys().chain(refused_here).collect();
                for name in names {
                    let Some(field) = schema.field(ty, name) else {
                        continue;
                    };
                    let inner_value = object.get(name).unwrap_or(&Value::Null);
                    let mut inner = path.clone();
                    inner.push(json!(name));
                    let label = format!("{ty}.{name}");
                    let refusal = refusals.iter().position(|(at, _)| *at == inner);
                    if let Some(index) = refusal {
                        placed[index] = true;
                    }
                    let refused = refusal.map(|index| refusals[index].1.as_str());
                    match (declared_purpose(schema, field), refused) {
                        (Some(declared), Some(refused)) if declared == refused => {
                            check.gated.insert(label);
                        }
                        (Some(declared), Some(refused)) => {
                            check.gated.insert(label.clone());
                            check.problems.push(format!(
                                "{label}: CONSENT_REQUIRED for {refused}, \
                                 @requiresConsent declares {declared}"
                            ));
                        }
                        (Some(declared), None) => {
                            check.gated.insert(label.clone());
                            check.problems.push(format!(
                                "{label}: @requiresConsent(purpose: {declared}) but no \
                                 CONSENT_REQUIRED"
                            ));
                        }
                        (None, Some(refused)) => check.problems.push(format!(
                            "{label}: CONSENT_REQUIRED ({refused}) without @requiresConsent"
                        )),
                        (None, None) => {}
                    }
                    pending.push((inner, inner_value));
                }
            }
            _ => {}
        }
    }
    for ((path, purpose), placed) in refusals.iter().zip(placed) {
        if !placed {
            check.problems.push(format!(
                "CONSENT_REQUIRED ({purpose}) at {path:?}, which the answer does not hold"
            ));
        }
    }
    check.problems.sort();
    check
}

/// Every field of the schema that declares `@requiresConsent`, on itself or on the type
/// it returns.
fn gated_fields(schema: &Schema) -> BTreeSet<String> {
    schema
        .objects()
        .flat_map(|ty| {
            ty.fields
                .iter()
                .filter(|field| declared_purpose(schema, field).is_some())
                .map(|field| format!("{}.{}", ty.name, field.name))
        })
        .collect()
}

#[test]
fn the_consent_walk_finds_guards_without_directives_and_directives_without_guards() {
    let schema = Schema::parse(
        r#"
        directive @requiresConsent(purpose: Purpose!) on OBJECT | FIELD_DEFINITION
        enum Purpose { MARKETING PERSONALIZATION ANALYTICS }
        type Taste @requiresConsent(purpose: PERSONALIZATION) { kinds: [String!]! }
        type Hobby { name: String secret: String }
        union Thing = Hobby | Taste
        type Person {
            name: String
            taste: Taste
            news: String @requiresConsent(purpose: MARKETING)
            diary: String
            stats: String @requiresConsent(purpose: ANALYTICS)
            hobbies: [Hobby!]!
            things: [Thing!]!
            friend: Person
        }
        type Query { me: Person find(id: ID!): Person }
        "#,
    );
    assert_eq!(
        walk_document(&schema, "me", ""),
        "query Walk { __typename me { __typename name taste { __typename kinds } news diary \
         stats hobbies { __typename name secret } things { __typename ... on Hobby { \
         __typename name secret } ... on Taste { __typename kinds } } friend { __typename } } }",
        "every field without a required argument, each type entered once"
    );
    let answer = json!({
        "data": { "__typename": "Query", "me": {
            "__typename": "Person", "name": "Ada", "news": "unguarded",
            "diary": null, "stats": null,
            "hobbies": [{ "__typename": "Hobby", "name": "chess", "secret": null }],
            "things": [], "friend": null,
        } },
        "errors": [
            { "path": ["me", "taste"],
              "extensions": { "code": "CONSENT_REQUIRED", "purpose": "PERSONALIZATION" } },
            { "path": ["me", "diary"],
              "extensions": { "code": "CONSENT_REQUIRED", "purpose": "MARKETING" } },
            { "path": ["me", "stats"],
              "extensions": { "code": "CONSENT_REQUIRED", "purpose": "MARKETING" } },
            { "path": ["me", "hobbies", 0, "secret"],
              "extensions": { "code": "CONSENT_REQUIRED", "purpose": "ANALYTICS" } },
            { "path": ["me", "gone"],
              "extensions": { "code": "CONSENT_REQUIRED", "purpose": "ANALYTICS" } },
        ],
    });
    let check = check_consent(&schema, &answer);
    assert_eq!(
        check.problems,
        [
            "CONSENT_REQUIRED (ANALYTICS) at [String(\"me\"), String(\"gone\")], which the \
             answer does not hold",
            "Hobby.secret: CONSENT_REQUIRED (ANALYTICS) without @requiresConsent",
            "Person.diary: CONSENT_REQUIRED (MARKETING) without @requiresConsent",
            "Person.news: @requiresConsent(purpose: MARKETING) but no CONSENT_REQUIRED",
            "Person.stats: CONSENT_REQUIRED for MARKETING, @requiresConsent declares ANALYTICS",
        ]
    );
    assert_eq!(
        check.gated,
        BTreeSet::from(["Person.news", "Person.stats", "Person.taste"].map(str::to_owned))
    );
    assert_eq!(
        gated_fields(&schema),
        BTreeSet::from(["Person.news", "Person.stats", "Person.taste"].map(str::to_owned))
    );
}

#[tokio::test]
async fn every_consent_field_refuses_exactly_the_purpose_its_schema_directive_declares() {
    // The walk selects the whole schema at once: the request limits are raised for it.
    let app = TestApp::spawn_with(|settings| {
        settings.graphql_max_depth = 64;
        settings.graphql_max_complexity = 100_000;
        settings.graphql_max_tokens = 100_000;
        settings.max_body_bytes = 4 << 20;
    })
    .await;
    let schema = Schema::of_the_gateway();

    // A person with something in every list the walk reaches, who then withdraws every
    // purpose that rests on consent.
    let person = app.person("walker@example.com").await;
    let generated = person
        .graphql(
            &app,
            "mutation { generateText(input: { prompt: \"a walk in the park\" }) { id } }",
            json!({}),
        )
        .await;
    assert!(generated["errors"].is_null(), "{generated}");
    let exported = person
        .graphql(&app, "mutation { requestDataExport { id } }", json!({}))
        .await;
    assert!(exported["errors"].is_null(), "{exported}");
    let Admin { fresh: admin, .. } = app.admin("root@icecone.example").await;
    let partner = app
        .create_partner(&admin, "Acme", &["PROFILE", "PERSONALIZATION"])
        .await;
    let granted = person
        .graphql(
            &app,
            "mutation G($p: ID!) { grantPartnerAccess(partner: $p, \
             scopes: [PROFILE, PERSONALIZATION]) { grantedAt } }",
            json!({ "p": partner.partner }),
        )
        .await;
    assert!(granted["errors"].is_null(), "{granted}");
    for purpose in Purpose::ALL.into_iter().filter(|p| p.needs_consent()) {
        let withdrawn = app
            .set_consent(&person.access_token, purpose.as_str(), false)
            .await;
        assert!(withdrawn["errors"].is_null(), "{withdrawn}");
    }

    // Every root query field without a required argument, as the person; and what a
    // partner holding the person's grant reads.
    let mut problems = Vec::new();
    let mut reached = BTreeSet::new();
    let mut answers = Vec::new();
    for field in &schema.get("Query").expect("a query root").fields {
        if field.arguments.iter().any(|(_, ty)| !ty.nullable) {
            continue;
        }
        let document = walk_document(&schema, &field.name, "");
        answers.push(person.graphql(&app, &document, json!({})).await);
    }
    let document = walk_document(
        &schema,
        "partnerAccount",
        &format!("(id: \"{}\")", person.id),
    );
    let (status, answer) = app.as_partner(&partner.key, &document, json!({})).await;
    assert_eq!(status, 200, "{answer}");
    answers.push(answer);
    for answer in &answers {
        let check = check_consent(&schema, answer);
        problems.extend(check.problems);
        reached.extend(check.gated);
    }
    assert!(problems.is_empty(), "{problems:#?}");
    assert_eq!(
        reached,
        gated_fields(&schema),
        "every field that declares @requiresConsent is reached by the walk (teach it the \
         new ones)"
    );
}

// ---------------------------------------------------------------------------------------
// Staff: every staff field declares a role rule and a second factor, and enforces them.

/// The staff console's root fields named in the API sketch: any of them in the schema is a
/// staff field, whatever it returns.
const STAFF_FIELD_NAMES: [&str; 5] = [
    "staffAccount",
    "dataRequests",
    "auditLog",
    "suspendAccount",
    "setProviderCredential",
];

/// What one root field of the SDL declares.
#[derive(Debug)]
struct RootField<'a> {
    root: &'static str,
    field: &'a Field,
    roles: Option<Vec<String>>,
    fresh_mfa: Option<bool>,
}

/// Every query and mutation field of `schema`, with its `@requiresRole` roles and
/// `@requiresMfa(fresh:)`.
fn root_fields(schema: &Schema) -> Vec<RootField<'_>> {
    let mut fields = Vec::new();
    for root in ["Query", "Mutation"] {
        let Some(ty) = schema.get(root) else {
            continue;
        };
        for field in &ty.fields {
            fields.push(RootField {
                root,
                field,
                roles: field
                    .directive("requiresRole")
                    .map(|directive| directive.enum_list_argument("roles")),
                fresh_mfa: field
                    .directive("requiresMfa")
                    .map(|directive| directive.bool_argument("fresh")),
            });
        }
    }
    fields
}

/// Whether a root field belongs to the staff console: named in the API sketch, returning a
/// `Staff*` type, an audit connection or a provider credential, or carrying either
/// directive.
fn is_staff_field(field: &RootField<'_>) -> bool {
    let returned = field.field.base_type.as_str();
    STAFF_FIELD_NAMES.contains(&field.field.name.as_str())
        || returned.starts_with("Staff")
        || returned.starts_with("AuditEntry")
        || returned.starts_with("ProviderCredential")
        || field.roles.is_some()
        || field.fresh_mfa.is_some()
}

/// The staff fields of `sdl` that do not declare both a non-empty role rule and a second
/// factor requirement.
fn staff_fields_without_rules(sdl: &str) -> Vec<String> {
    let schema = Schema::parse(sdl);
    root_fields(&schema)
        .into_iter()
        .filter(is_staff_field)
        .filter(|field| field.roles.as_ref().is_none_or(Vec::is_empty) || field.fresh_mfa.is_none())
        .map(|field| format!("{}.{}", field.root, field.field.name))
        .collect()
}

#[test]
fn every_staff_field_in_the_schema_declares_a_role_rule_and_a_second_factor() {
    let sdl = icecone_gateway::graphql::sdl();
    let schema = Schema::parse(&sdl);
    let staff: Vec<String> = root_fields(&schema)
        .into_iter()
        .filter(is_staff_field)
        .map(|field| field.field.name.clone())
        .collect();
    for name in ["staffAccount", "auditLog", "suspendAccount"] {
        assert!(
            staff.contains(&name.to_owned()),
            "{name} is a staff field: {staff:?}"
        );
    }
    assert_eq!(staff_fields_without_rules(&sdl), Vec::<String>::new());
    assert!(sdl.contains("directive @requiresRole(roles: [StaffRole!]!) on FIELD_DEFINITION"));
    assert!(sdl.contains("directive @requiresMfa(fresh: Boolean!) on FIELD_DEFINITION"));
}

#[test]
fn the_schema_walk_finds_staff_fields_without_a_role_rule() {
    let sdl = r#"
        enum StaffRole { SUPPORT DPO AUDITOR ADMIN }
        type StaffAccountView { id: ID! }
        type DataRequest { id: ID! }
        type AuditEntryConnection { totalCount: Int! }
        type Query {
            me: String!
            guarded(id: ID!): StaffAccountView @requiresRole(roles: [SUPPORT]) @requiresMfa(fresh: false)
            lookUp(id: ID!): StaffAccountView
            dataRequests: [DataRequest!]! @requiresMfa(fresh: false)
            trail: AuditEntryConnection! @requiresRole(roles: []) @requiresMfa(fresh: false)
            secret: String! @requiresRole(roles: [ADMIN])
        }
        type Mutation {
            suspendAccount(id: ID!): Boolean!
            logOut: Boolean!
        }
    "#;
    assert_eq!(
        staff_fields_without_rules(sdl),
        [
            "Query.lookUp",
            "Query.dataRequests",
            "Query.trail",
            "Query.secret",
            "Mutation.suspendAccount"
        ]
    );
}

/// A reason long enough for every staff field that asks for one.
const REASON: &str = "ticket 4711: the person asked why sign-in fails";

/// Variables for a staff field, made from its argument types: every required argument gets
/// a harmless value (an unknown id, a long enough reason, an empty list); optional ones are
/// left out.
fn arguments_for(field: &RootField<'_>) -> (String, String, Value) {
    let mut declarations = Vec::new();
    let mut uses = Vec::new();
    let mut variables = serde_json::Map::new();
    for (name, ty) in &field.field.arguments {
        if ty.nullable {
            continue;
        }
        let value = harmless_value(ty).unwrap_or_else(|| {
            panic!(
                "{}.{}: teach harmless_value a value of type {ty} for `{name}`",
                field.root, field.field.name
            )
        });
        declarations.push(format!("${name}: {ty}"));
        uses.push(format!("{name}: ${name}"));
        variables.insert(name.clone(), value);
    }
    let wrap = |parts: Vec<String>| {
        if parts.is_empty() {
            String::new()
        } else {
            format!("({})", parts.join(", "))
        }
    };
    (wrap(declarations), wrap(uses), Value::Object(variables))
}

fn harmless_value(ty: &Type) -> Option<Value> {
    Some(match &ty.base {
        BaseType::Named(named) => match named.as_str() {
            "ID" => json!(Uuid::new_v4().to_string()),
            "String" => json!(REASON),
            "Boolean" => json!(false),
            "Int" => json!(1),
            "Plan" => json!("FREE"),
            "LegalHoldGround" => json!("LEGAL_CLAIMS"),
            "Date" => json!("2026-01-01"),
            "AnalyticsMetric" => json!("SIGN_UPS"),
            // Refused by its rules (no account, no category): the walk sees the access
            // decision without recording anything.
            "DisclosureInput" => json!({
                "authorityName": REASON, "authorityType": "COURT", "legalBasis": REASON,
                "reference": REASON, "accountIds": [], "categories": [],
            }),
            _ => return None,
        },
        BaseType::List(_) => json!([]),
    })
}

/// Calls a root field with harmless arguments, selecting only `__typename` of object types.
async fn call(app: &TestApp, token: &str, schema: &Schema, field: &RootField<'_>) -> Value {
    let (declarations, uses, variables) = arguments_for(field);
    let selection = if schema.is_leaf(&field.field.base_type) {
        ""
    } else {
        " { __typename }"
    };
    let operation = if field.root == "Query" {
        "query"
    } else {
        "mutation"
    };
    let document = format!(
        "{operation} W{declarations} {{ {}{uses}{selection} }}",
        field.field.name
    );
    app.graphql(Some(token), &document, variables).await
}

#[tokio::test]
async fn every_staff_field_enforces_the_rule_its_schema_directives_declare() {
    let app = TestApp::spawn().await;
    let schema = Schema::of_the_gateway();
    let fields: Vec<RootField<'_>> = root_fields(&schema)
        .into_iter()
        .filter(is_staff_field)
        .collect();
    assert!(fields.len() >= 3, "{fields:?}");

    for role in StaffRole::ALL {
        let email = format!("{}@icecone.example", role.as_str().to_ascii_lowercase());
        let id = app.staff_member(&email, role).await.id;
        let fresh = app.mint_token(id, FRESH).await;
        let stale = app.mint_token(id, STALE).await;
        let aal1 = app.mint_token(id, Factor::None).await;
        for field in &fields {
            let declared = field.roles.clone().unwrap_or_default();
            let allowed = declared.iter().any(|name| name == role.as_str());
            let what = format!("{}.{} as {role}", field.root, field.field.name);

            let body = call(&app, &aal1, &schema, field).await;
            assert_eq!(code(&body), "MFA_REQUIRED", "{what} at aal1: {body}");

            let body = call(&app, &fresh, &schema, field).await;
            if allowed {
                assert!(
                    ![
                        "FORBIDDEN",
                        "MFA_REQUIRED",
                        "REAUTHENTICATION_REQUIRED",
                        "UNAUTHENTICATED"
                    ]
                    .contains(&code(&body)),
                    "{what} is declared for {role}: {body}"
                );
            } else {
                assert_eq!(
                    code(&body),
                    "FORBIDDEN",
                    "{what} is not declared for {role}: {body}"
                );
            }

            let body = call(&app, &stale, &schema, field).await;
            let expected_stale = match (allowed, field.fresh_mfa) {
                (false, _) => Some("FORBIDDEN"),
                (true, Some(true)) => Some("REAUTHENTICATION_REQUIRED"),
                (true, _) => None,
            };
            match expected_stale {
                Some(expected) => assert_eq!(code(&body), expected, "{what}, stale: {body}"),
                None => assert!(
                    !["FORBIDDEN", "MFA_REQUIRED", "REAUTHENTICATION_REQUIRED"]
                        .contains(&code(&body)),
                    "{what} does not declare a fresh second factor: {body}"
                ),
            }
        }
    }
}

#[test]
fn the_staff_view_of_an_account_shows_no_password_hash_or_second_factor_secret() {
    let schema = Schema::of_the_gateway();
    let fields: Vec<&str> = schema
        .get("StaffAccountView")
        .expect("StaffAccountView is in the schema")
        .fields
        .iter()
        .map(|field| field.name.as_str())
        .collect();
    assert_eq!(
        fields,
        [
            "createdAt",
            "email",
            "id",
            "kind",
            "mailSuppressed",
            "mfaEnabled",
            "plan",
            "roles",
            "suspended",
            "suspendedAt"
        ],
        "a new field of the staff view needs a look: it must not carry a secret"
    );
}

// ---------------------------------------------------------------------------------------
// Secrets and store types.

/// Every text field of the schema whose name suggests a secret, with why it may return one.
/// Provider API keys appear in none of them.
const SECRET_LOOKING_FIELDS: [(&str, &str); 8] = [
    (
        "AuthSession.accessToken",
        "the caller's own access token, issued to them",
    ),
    (
        "AuthSession.refreshToken",
        "the caller's own refresh token, issued to them",
    ),
    (
        "TotpEnrollment.secret",
        "the caller's own TOTP secret, shown once at enrolment",
    ),
    (
        "TotpEnrollment.otpauthUri",
        "the same secret as a URI for authenticator apps",
    ),
    (
        "IssuedPartnerKey.key",
        "a partner API key, shown once to ADMIN when it is issued",
    ),
    (
        "IssuedPartnerKey.hint",
        "the start of that partner key, as lists show it",
    ),
    (
        "PartnerKeyInfo.hint",
        "the start of a partner key, never the key",
    ),
    (
        "MfaChallenge.challenge",
        "a single-use handle for completing a log-in",
    ),
];

#[test]
fn no_field_of_the_schema_returns_a_provider_key_or_an_unlisted_secret() {
    let schema = Schema::of_the_gateway();
    let mut found = Vec::new();
    for ty in schema.objects() {
        for field in &ty.fields {
            let lower = field.name.to_lowercase();
            let text =
                matches!(&field.ty.base, BaseType::Named(named) if named.as_str() == "String");
            if text
                && [
                    "key",
                    "secret",
                    "token",
                    "credential",
                    "password",
                    "otpauth",
                    "challenge",
                    "hint",
                ]
                .iter()
                .any(|word| lower.contains(word))
            {
                found.push(format!("{}.{}", ty.name, field.name));
            }
        }
    }
    found.sort();
    let mut allowed: Vec<String> = SECRET_LOOKING_FIELDS
        .iter()
        .map(|(field, _)| (*field).to_owned())
        .collect();
    allowed.sort();
    assert_eq!(
        found, allowed,
        "a field that may return a secret must be listed with its reason"
    );
}

#[test]
fn sea_orm_entities_never_appear_in_the_graphql_schema() {
    // Store types are named after tables; a GraphQL type deriving from an entity would be
    // called `Model` or carry the entity's name with `Model`/`ActiveModel`.
    let schema = Schema::of_the_gateway();
    for ty in schema.types() {
        let name = ty.name.as_str();
        assert!(
            !(name.starts_with("Model")
                || name.contains("ActiveModel")
                || name.starts_with("DataSubjects")),
            "the schema exposes a database entity: {name}"
        );
    }
}
