#include "core/io/SingleFileComponent.h"

namespace tp::io {

WeightMap weightMapOf(const ComponentMapping& mapping, const std::vector<SafeTensorsArchive>& archives) {
    WeightMap map;
    for (const SafeTensorsArchive& a : archives)
        map.addArchive(a);
    for (auto it = mapping.tensors.constBegin(); it != mapping.tensors.constEnd(); ++it)
        map.set(it.key(), it.value());
    return map;
}

Result<SingleFileComponent> singleFileComponent(const SingleFileCheckpoint& checkpoint,
                                                const SafeTensorsArchive& file, const QString& component) {
    using R = Result<SingleFileComponent>;
    Result<ComponentMapping> mapping = checkpoint.mapping(component);
    if (!mapping)
        return R::fail(mapping.error());
    return R::ok({component, mapping->config, weightMapOf(*mapping, {file})});
}

Result<SingleFileComponent> singleFileComponent(const SingleFileCheckpoint& checkpoint,
                                                const QString& component) {
    Result<SafeTensorsArchive> file = SafeTensorsArchive::open(checkpoint.path());
    if (!file)
        return Result<SingleFileComponent>::fail(file.error());
    return singleFileComponent(checkpoint, *file, component);
}

} // namespace tp::io
