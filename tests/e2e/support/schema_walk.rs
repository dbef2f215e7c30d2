//! The schema as the walks read it: the SDL parsed once into types, fields, arguments and
//! directives, so that each walk (classification, consent, staff roles, secrets, store
//! types) states only its own rule.

use std::collections::BTreeMap;

use async_graphql::parser::parse_schema;
use async_graphql::parser::types::{BaseType, Type, TypeKind, TypeSystemDefinition};

/// A parsed SDL.
#[derive(Debug)]
pub(crate) struct Schema {
    types: BTreeMap<String, TypeDef>,
}

/// One named type of the schema.
#[derive(Debug)]
pub(crate) struct TypeDef {
    pub(crate) name: String,
    pub(crate) kind: Kind,
    pub(crate) directives: Vec<Directive>,
    /// The fields of an object or interface type, in SDL order; empty for other kinds.
    pub(crate) fields: Vec<Field>,
}

/// What kind of type it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Kind {
    Object,
    Interface,
    /// A union, with its members.
    Union(Vec<String>),
    Scalar,
    Enum,
    InputObject,
}

/// A field of an object or interface type.
#[derive(Debug)]
pub(crate) struct Field {
    pub(crate) name: String,
    /// Its type as declared (`[Generation!]!`).
    pub(crate) ty: Type,
    /// The named type inside its lists and non-null markers (`Generation`).
    pub(crate) base_type: String,
    pub(crate) arguments: Vec<(String, Type)>,
    pub(crate) directives: Vec<Directive>,
}

/// A directive applied to a type or a field, with its arguments.
#[derive(Debug, Clone)]
pub(crate) struct Directive {
    pub(crate) name: String,
    pub(crate) arguments: Vec<(String, async_graphql::Value)>,
}

impl Directive {
    fn argument(&self, name: &str) -> Option<&async_graphql::Value> {
        self.arguments
            .iter()
            .find(|(argument, _)| argument == name)
            .map(|(_, value)| value)
    }

    /// The enum value of argument `name`; panics when it is missing or not an enum value.
    pub(crate) fn enum_argument(&self, name: &str) -> String {
        match self.argument(name) {
            Some(async_graphql::Value::Enum(value)) => value.to_string(),
            other => panic!("@{} without an enum `{name}`: {other:?}", self.name),
        }
    }

    /// The enum values of list argument `name` (empty when missing).
    pub(crate) fn enum_list_argument(&self, name: &str) -> Vec<String> {
        match self.argument(name) {
            Some(async_graphql::Value::List(items)) => items
                .iter()
                .map(|item| match item {
                    async_graphql::Value::Enum(value) => value.to_string(),
                    other => panic!("@{}({name}:) holds {other}, not an enum value", self.name),
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    /// Whether boolean argument `name` is `true`.
    pub(crate) fn bool_argument(&self, name: &str) -> bool {
        matches!(
            self.argument(name),
            Some(async_graphql::Value::Boolean(true))
        )
    }
}

fn directives_of(
    directives: &[async_graphql::Positioned<async_graphql::parser::types::ConstDirective>],
) -> Vec<Directive> {
    directives
        .iter()
        .map(|directive| Directive {
            name: directive.node.name.node.to_string(),
            arguments: directive
                .node
                .arguments
                .iter()
                .map(|(name, value)| (name.node.to_string(), value.node.clone()))
                .collect(),
        })
        .collect()
}

/// The named type inside `ty`'s lists.
pub(crate) fn base_name(ty: &Type) -> String {
    match &ty.base {
        BaseType::Named(name) => name.to_string(),
        BaseType::List(inner) => base_name(inner),
    }
}

impl Schema {
    /// Parses `sdl`; panics when it does not parse.
    pub(crate) fn parse(sdl: &str) -> Self {
        let document = parse_schema(sdl).expect("the SDL parses");
        let mut types = BTreeMap::new();
        for definition in document.definitions {
            let TypeSystemDefinition::Type(ty) = definition else {
                continue;
            };
            let ty = ty.node;
            let name = ty.name.node.to_string();
            let (kind, fields) = match &ty.kind {
                TypeKind::Object(object) => (Kind::Object, Some(&object.fields)),
                TypeKind::Interface(interface) => (Kind::Interface, Some(&interface.fields)),
                TypeKind::Union(union) => (
                    Kind::Union(union.members.iter().map(|m| m.node.to_string()).collect()),
                    None,
                ),
                TypeKind::Scalar => (Kind::Scalar, None),
                TypeKind::Enum(_) => (Kind::Enum, None),
                TypeKind::InputObject(_) => (Kind::InputObject, None),
            };
            let fields = fields
                .map(|fields| {
                    fields
                        .iter()
                        .map(|field| {
                            let field = &field.node;
                            Field {
                                name: field.name.node.to_string(),
                                ty: field.ty.node.clone(),
                                base_type: base_name(&field.ty.node),
                                arguments: field
                                    .arguments
                                    .iter()
                                    .map(|argument| {
                                        (
                                            argument.node.name.node.to_string(),
                                            argument.node.ty.node.clone(),
                                        )
                                    })
                                    .collect(),
                                directives: directives_of(&field.directives),
                            }
                        })
                        .collect()
                })
                .unwrap_or_default();
            types.insert(
                name.clone(),
                TypeDef {
                    name,
                    kind,
                    directives: directives_of(&ty.directives),
                    fields,
                },
            );
        }
        Self { types }
    }

    /// The gateway's schema, as `graphql::sdl` renders it.
    pub(crate) fn of_the_gateway() -> Self {
        Self::parse(&icecone_gateway::graphql::sdl())
    }

    /// The type named `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&TypeDef> {
        self.types.get(name)
    }

    /// Every named type, by name.
    pub(crate) fn types(&self) -> impl Iterator<Item = &TypeDef> {
        self.types.values()
    }

    /// Every object type, by name.
    pub(crate) fn objects(&self) -> impl Iterator<Item = &TypeDef> {
        self.types().filter(|ty| ty.kind == Kind::Object)
    }

    /// Whether `name` is a leaf type: a built-in or declared scalar, or an enum.
    pub(crate) fn is_leaf(&self, name: &str) -> bool {
        ["ID", "String", "Boolean", "Int", "Float"].contains(&name)
            || self
                .get(name)
                .is_some_and(|ty| matches!(ty.kind, Kind::Scalar | Kind::Enum))
    }

    /// The field `field` of type `ty`.
    pub(crate) fn field(&self, ty: &str, field: &str) -> Option<&Field> {
        self.get(ty)?.fields.iter().find(|f| f.name == field)
    }
}

impl TypeDef {
    /// Its directive `name`, if it carries one.
    pub(crate) fn directive(&self, name: &str) -> Option<&Directive> {
        self.directives.iter().find(|d| d.name == name)
    }
}

impl Field {
    /// Its directive `name`, if it carries one.
    pub(crate) fn directive(&self, name: &str) -> Option<&Directive> {
        self.directives.iter().find(|d| d.name == name)
    }
}
