"""A wire-compatible schema of the few TensorFlow messages tfflops reads.

Parsing a GraphDef must not import TensorFlow (~2-3 s), so the messages are declared
here, by field number, in a private descriptor pool under the package ``tfflops.tf``:
bytes written by TensorFlow parse into these classes and back unchanged (fields not
declared survive as unknown fields). The field numbers follow
``tensorflow/core/framework/*.proto`` and ``tensorflow/core/protobuf/*.proto``.
"""

from __future__ import annotations

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

_PACKAGE = "tfflops.tf"

# DataType from types.proto; each also exists as a "_REF" twin, value + 100.
DATA_TYPES = {
    "DT_INVALID": 0,
    "DT_FLOAT": 1,
    "DT_DOUBLE": 2,
    "DT_INT32": 3,
    "DT_UINT8": 4,
    "DT_INT16": 5,
    "DT_INT8": 6,
    "DT_STRING": 7,
    "DT_COMPLEX64": 8,
    "DT_INT64": 9,
    "DT_BOOL": 10,
    "DT_QINT8": 11,
    "DT_QUINT8": 12,
    "DT_QINT32": 13,
    "DT_BFLOAT16": 14,
    "DT_QINT16": 15,
    "DT_QUINT16": 16,
    "DT_UINT16": 17,
    "DT_COMPLEX128": 18,
    "DT_HALF": 19,
    "DT_RESOURCE": 20,
    "DT_VARIANT": 21,
    "DT_UINT32": 22,
    "DT_UINT64": 23,
    "DT_FLOAT8_E5M2": 24,
    "DT_FLOAT8_E4M3FN": 25,
    "DT_FLOAT8_E4M3FNUZ": 26,
    "DT_FLOAT8_E4M3B11FNUZ": 27,
    "DT_FLOAT8_E5M2FNUZ": 28,
    "DT_INT4": 29,
    "DT_UINT4": 30,
    "DT_INT2": 31,
    "DT_UINT2": 32,
}

# message name -> [(field name, number, type, label)]; type is a scalar type name,
# "DataType", another message of this table, or "map<K,V>".
_MESSAGES: dict[str, list[tuple[str, int, str, str]]] = {
    "TensorShapeProto": [
        ("dim", 2, "TensorShapeDim", "repeated"),
        ("unknown_rank", 3, "bool", "optional"),
    ],
    "TensorShapeDim": [("size", 1, "int64", "optional"), ("name", 2, "string", "optional")],
    "TensorProto": [
        ("dtype", 1, "DataType", "optional"),
        ("tensor_shape", 2, "TensorShapeProto", "optional"),
        ("version_number", 3, "int32", "optional"),
        ("tensor_content", 4, "bytes", "optional"),
        ("half_val", 13, "int32", "repeated"),
        ("float_val", 5, "float", "repeated"),
        ("double_val", 6, "double", "repeated"),
        ("int_val", 7, "int32", "repeated"),
        ("string_val", 8, "bytes", "repeated"),
        ("scomplex_val", 9, "float", "repeated"),
        ("int64_val", 10, "int64", "repeated"),
        ("bool_val", 11, "bool", "repeated"),
        ("dcomplex_val", 12, "double", "repeated"),
        ("uint32_val", 16, "uint32", "repeated"),
        ("uint64_val", 17, "uint64", "repeated"),
        ("float8_val", 18, "bytes", "optional"),
    ],
    "AttrValue": [
        ("list", 1, "AttrListValue", "oneof"),
        ("s", 2, "bytes", "oneof"),
        ("i", 3, "int64", "oneof"),
        ("f", 4, "float", "oneof"),
        ("b", 5, "bool", "oneof"),
        ("type", 6, "DataType", "oneof"),
        ("shape", 7, "TensorShapeProto", "oneof"),
        ("tensor", 8, "TensorProto", "oneof"),
        ("placeholder", 9, "string", "oneof"),
        ("func", 10, "NameAttrList", "oneof"),
    ],
    "AttrListValue": [
        ("s", 2, "bytes", "repeated"),
        ("i", 3, "int64", "repeated"),
        ("f", 4, "float", "repeated"),
        ("b", 5, "bool", "repeated"),
        ("type", 6, "DataType", "repeated"),
        ("shape", 7, "TensorShapeProto", "repeated"),
        ("tensor", 8, "TensorProto", "repeated"),
        ("func", 9, "NameAttrList", "repeated"),
    ],
    "NameAttrList": [
        ("name", 1, "string", "optional"),
        ("attr", 2, "map<string,AttrValue>", "repeated"),
    ],
    "NodeDef": [
        ("name", 1, "string", "optional"),
        ("op", 2, "string", "optional"),
        ("input", 3, "string", "repeated"),
        ("device", 4, "string", "optional"),
        ("attr", 5, "map<string,AttrValue>", "repeated"),
        ("experimental_debug_info", 6, "NodeDebugInfo", "optional"),
    ],
    "NodeDebugInfo": [
        ("original_node_names", 1, "string", "repeated"),
        ("original_func_names", 2, "string", "repeated"),
    ],
    "VersionDef": [
        ("producer", 1, "int32", "optional"),
        ("min_consumer", 2, "int32", "optional"),
        ("bad_consumers", 3, "int32", "repeated"),
    ],
    "ArgDef": [
        ("name", 1, "string", "optional"),
        ("description", 2, "string", "optional"),
        ("type", 3, "DataType", "optional"),
        ("type_attr", 4, "string", "optional"),
        ("number_attr", 5, "string", "optional"),
        ("type_list_attr", 6, "string", "optional"),
        ("is_ref", 16, "bool", "optional"),
    ],
    "AttrDef": [
        ("name", 1, "string", "optional"),
        ("type", 2, "string", "optional"),
        ("default_value", 3, "AttrValue", "optional"),
        ("description", 4, "string", "optional"),
        ("has_minimum", 5, "bool", "optional"),
        ("minimum", 6, "int64", "optional"),
        ("allowed_values", 7, "AttrValue", "optional"),
    ],
    "OpDef": [
        ("name", 1, "string", "optional"),
        ("input_arg", 2, "ArgDef", "repeated"),
        ("output_arg", 3, "ArgDef", "repeated"),
        ("control_output", 20, "string", "repeated"),
        ("attr", 4, "AttrDef", "repeated"),
        ("summary", 5, "string", "optional"),
        ("description", 6, "string", "optional"),
        ("is_aggregate", 16, "bool", "optional"),
        ("is_stateful", 17, "bool", "optional"),
        ("is_commutative", 18, "bool", "optional"),
        ("allows_uninitialized_input", 19, "bool", "optional"),
    ],
    "FunctionDef": [
        ("signature", 1, "OpDef", "optional"),
        ("attr", 5, "map<string,AttrValue>", "repeated"),
        ("node_def", 3, "NodeDef", "repeated"),
        ("ret", 4, "map<string,string>", "repeated"),
        ("control_ret", 6, "map<string,string>", "repeated"),
        ("arg_attr", 7, "map<uint32,ArgAttrs>", "repeated"),
    ],
    "ArgAttrs": [("attr", 1, "map<string,AttrValue>", "repeated")],
    "GradientDef": [
        ("function_name", 1, "string", "optional"),
        ("gradient_func", 2, "string", "optional"),
    ],
    "FunctionDefLibrary": [
        ("function", 1, "FunctionDef", "repeated"),
        ("gradient", 2, "GradientDef", "repeated"),
    ],
    "GraphDef": [
        ("node", 1, "NodeDef", "repeated"),
        ("versions", 4, "VersionDef", "optional"),
        ("version", 3, "int32", "optional"),
        ("library", 2, "FunctionDefLibrary", "optional"),
    ],
    # meta_graph.proto and saved_model.proto: the graph, its tags, saver and signatures.
    # TensorInfo's `name` is one case of the oneof `encoding`; the sparse and composite
    # cases (4, 5) are not declared and survive as unknown fields.
    "TensorInfo": [
        ("name", 1, "string", "optional"),
        ("dtype", 2, "DataType", "optional"),
        ("tensor_shape", 3, "TensorShapeProto", "optional"),
    ],
    "SignatureDef": [
        ("inputs", 1, "map<string,TensorInfo>", "repeated"),
        ("outputs", 2, "map<string,TensorInfo>", "repeated"),
        ("method_name", 3, "string", "optional"),
    ],
    "MetaInfoDef": [
        ("meta_graph_version", 1, "string", "optional"),
        ("tags", 4, "string", "repeated"),
        ("tensorflow_version", 5, "string", "optional"),
    ],
    "SaverDef": [
        ("filename_tensor_name", 1, "string", "optional"),
        ("save_tensor_name", 2, "string", "optional"),
        ("restore_op_name", 3, "string", "optional"),
    ],
    "MetaGraphDef": [
        ("meta_info_def", 1, "MetaInfoDef", "optional"),
        ("graph_def", 2, "GraphDef", "optional"),
        ("saver_def", 3, "SaverDef", "optional"),
        ("signature_def", 5, "map<string,SignatureDef>", "repeated"),
        # A SavedObjectGraph, kept as bytes: present only in TensorFlow 2 SavedModels.
        ("object_graph_def", 7, "bytes", "optional"),
    ],
    "SavedModel": [
        ("saved_model_schema_version", 1, "int64", "optional"),
        ("meta_graphs", 2, "MetaGraphDef", "repeated"),
    ],
}

_F = descriptor_pb2.FieldDescriptorProto
_SCALARS = {
    "bool": _F.TYPE_BOOL,
    "bytes": _F.TYPE_BYTES,
    "double": _F.TYPE_DOUBLE,
    "float": _F.TYPE_FLOAT,
    "int32": _F.TYPE_INT32,
    "int64": _F.TYPE_INT64,
    "string": _F.TYPE_STRING,
    "uint32": _F.TYPE_UINT32,
    "uint64": _F.TYPE_UINT64,
}


def _set_type(field: descriptor_pb2.FieldDescriptorProto, type_name: str) -> None:
    if type_name in _SCALARS:
        field.type = _SCALARS[type_name]
    elif type_name == "DataType":
        field.type = _F.TYPE_ENUM
        field.type_name = f".{_PACKAGE}.DataType"
    else:
        field.type = _F.TYPE_MESSAGE
        field.type_name = f".{_PACKAGE}.{type_name}"


def _file_descriptor() -> descriptor_pb2.FileDescriptorProto:
    fd = descriptor_pb2.FileDescriptorProto(
        name="tfflops/tf_subset.proto", package=_PACKAGE, syntax="proto3"
    )
    enum = fd.enum_type.add(name="DataType")
    for name, number in DATA_TYPES.items():
        enum.value.add(name=name, number=number)
    for name, number in DATA_TYPES.items():
        if number:
            enum.value.add(name=name + "_REF", number=number + 100)
    for msg_name, fields in _MESSAGES.items():
        msg = fd.message_type.add(name=msg_name)
        for field_name, number, type_name, label in fields:
            field = msg.field.add(name=field_name, number=number)
            if label == "oneof":
                if not msg.oneof_decl:
                    msg.oneof_decl.add(name="value")
                field.oneof_index = 0
                field.label = _F.LABEL_OPTIONAL
            else:
                field.label = _F.LABEL_REPEATED if label == "repeated" else _F.LABEL_OPTIONAL
            if type_name.startswith("map<"):
                key, value = type_name[4:-1].split(",")
                entry_name = "".join(p.title() for p in field_name.split("_")) + "Entry"
                entry = msg.nested_type.add(name=entry_name)
                entry.options.map_entry = True
                _set_type(entry.field.add(name="key", number=1, label=_F.LABEL_OPTIONAL), key)
                _set_type(entry.field.add(name="value", number=2, label=_F.LABEL_OPTIONAL), value)
                field.type = _F.TYPE_MESSAGE
                field.type_name = f".{_PACKAGE}.{msg_name}.{entry_name}"
            else:
                _set_type(field, type_name)
    return fd


_pool = descriptor_pool.DescriptorPool()
_pool.Add(_file_descriptor())


def _message_class(name: str) -> type:
    return message_factory.GetMessageClass(_pool.FindMessageTypeByName(f"{_PACKAGE}.{name}"))


GraphDef = _message_class("GraphDef")
NodeDef = _message_class("NodeDef")
AttrValue = _message_class("AttrValue")
TensorProto = _message_class("TensorProto")
TensorShapeProto = _message_class("TensorShapeProto")
FunctionDef = _message_class("FunctionDef")
FunctionDefLibrary = _message_class("FunctionDefLibrary")
MetaGraphDef = _message_class("MetaGraphDef")
SignatureDef = _message_class("SignatureDef")
SavedModel = _message_class("SavedModel")


def is_graph_def(model) -> bool:
    """A GraphDef object: tfflops' own, or TensorFlow's (``tf.compat.v1.GraphDef``)."""
    descriptor = getattr(model, "DESCRIPTOR", None)
    return isinstance(model, GraphDef) or getattr(descriptor, "full_name", None) == (
        "tensorflow.GraphDef"
    )


def as_graph_def(model) -> GraphDef | None:
    """``model`` as tfflops' GraphDef when it is a GraphDef object (TensorFlow's is copied
    through its bytes), else None (a path)."""
    if isinstance(model, GraphDef) or not is_graph_def(model):
        return model if isinstance(model, GraphDef) else None
    return GraphDef.FromString(model.SerializeToString())
